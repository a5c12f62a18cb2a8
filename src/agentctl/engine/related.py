"""Other resources of the same Terraform configuration, for rules about pairs of resources.

Most rules judge one resource. A few need its neighbours: "an S3 bucket with no
``aws_s3_bucket_public_access_block`` whose ``bucket`` refers to it". Such rules
call ``related(type)``: the evaluated resources of ``type`` in the same
configuration (a root module with every module it instantiates, or one plan
file), each as ``{type, address, module, resource}``. ``module`` is the
module-instance prefix of the address (``""`` in the root, ``module.s3.``,
``module.b["x"].``); the variable ``module`` is the judged resource's own prefix.
``refers_to(value, address)`` tells whether an unknown value references the
resource at ``address`` (references are module-local: the module prefix and the
instance key are stripped, so ``aws_s3_bucket.b[count.index].id`` refers to
``module.s3.aws_s3_bucket.b[0]``).

The index is built from *every* resource a side evaluated, before a diff drops
the ones identical on both sides: a bucket's unchanged access block still
counts. Pure: resources in, lists out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from agentctl.model.resource import is_unknown

_INSTANCE_KEY = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|-?\d+|\*)\]\Z')


def split_address(address: str) -> tuple[str, str]:
    """``module.a["x"].aws_s3_bucket.b[0]`` → (``module.a["x"].``, ``aws_s3_bucket.b``)."""
    bare = _INSTANCE_KEY.sub("", address)
    parts = bare.rsplit(".", 3)
    if len(parts) >= 3 and parts[-3] == "data":
        local = ".".join(parts[-3:])
    elif len(parts) >= 2:
        local = ".".join(parts[-2:])
    else:
        return "", bare
    return bare[: len(bare) - len(local)], local


def module_of(address: str) -> str:
    return split_address(address)[0]


@functools.lru_cache(maxsize=4096)
def _reference(local: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.\-])" + re.escape(local) + r"(?![\w\-])")


def refers_to(value: Any, address: Any) -> bool:
    """Whether an unknown value (``"${aws_s3_bucket.b.id}"``) references the resource at ``address``."""
    if not is_unknown(value):
        return False
    local = split_address(str(address))[1]
    if isinstance(value, str):
        return _reference(local).search(value) is not None
    items = value.values() if isinstance(value, dict) else value
    return any(refers_to(v, address) for v in items)


class RelatedIndex:
    """The resources of one side (a working tree, a commit), grouped by configuration and type."""

    def __init__(self, members: Iterable[Member] | Callable[[], Iterable[Member]] = ()) -> None:
        """``members``: (key, type, address, attributes) of each evaluated resource, or a function giving
        them (called on first use only: a diff evaluates a whole configuration just for a rule that asks)."""
        self._members = members
        self._groups: dict[tuple[str, str], list[tuple[str, str, dict[str, Any]]]] | None = None

    def _index(self) -> dict[tuple[str, str], list[tuple[str, str, dict[str, Any]]]]:
        if self._groups is None:
            self._groups = {}
            members = self._members() if callable(self._members) else self._members
            for key, rtype, address, attributes in members:
                config = configuration(key, address)
                if config is not None:
                    self._groups.setdefault((config, rtype), []).append((key, address, attributes))
        return self._groups

    def of(self, key: str, address: str, rtype: str) -> list[dict[str, Any]]:
        """Resources of ``rtype`` in the configuration of the resource ``key`` (itself left out)."""
        config = configuration(key, address)
        if config is None:
            return []
        return [
            {"type": rtype, "address": other, "module": module_of(other), "resource": attributes}
            for other_key, other, attributes in self._index().get((config, rtype), ())
            if other_key != key
        ]


Member = tuple[str, str, str, dict[str, Any]]
"""(key, type, address, attributes) of an evaluated resource."""


def configuration(key: str, address: str) -> str | None:
    """``tf:ROOT:`` or ``plan:PATH:``: what a Terraform key says besides the address (None for others)."""
    if not key.startswith(("tf:", "plan:")) or not key.endswith(address):
        return None
    return key[: len(key) - len(address)]
