"""Which resource blocks a diff can have changed, when it changed nothing else.

In our evaluation a resource's attributes depend on variables, locals, module
arguments, ``count``/``for_each`` and its own block, never on another
resource's or data source's block (a reference to one is unknown until apply).
So when the changed Terraform files differ only in ``resource`` and ``data``
blocks (added, removed, edited, their suppression comments included), every
other resource evaluates exactly as before: only the blocks that differ need
instantiating, on both sides. Anything else changed (a variable, a local, a
module call, an output, a ``moved`` block, a ``.tfvars`` or override file, an
unreadable file) means the whole configuration is evaluated.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Collection
from typing import Any

from agentctl.sources.interface import ParsedFile
from agentctl.sources.terraform.module import is_override, is_tfvars

Focus = dict[str, set[str]]
"""Module directory -> the local addresses (``aws_s3_bucket.b``, ``data.aws_ami.u``) to instantiate."""

_TERRAFORM = (".tf", ".tf.json", ".tfvars", ".tfvars.json")


def focus(base: list[ParsedFile], head: list[ParsedFile], changed: Collection[str]) -> Focus | None:
    """The blocks to instantiate, or None when the whole configurations must be evaluated."""
    from agentctl.sources.terraform import tf_file

    sides = ({p.path: p for p in base}, {p.path: p for p in head})
    found: Focus = {}
    for path in changed:
        if not path.endswith(_TERRAFORM):
            continue
        if is_tfvars(path) or is_override(path):
            return None
        blocks: list[dict[tuple[str, tuple[str, ...]], list[Any]]] = []
        for side in sides:
            parsed = side.get(path)
            if parsed is None:
                blocks.append({})
                continue
            if parsed.terraform is None:
                return None
            tf = tf_file(parsed)
            if tf is None:
                return None
            blocks.append(_blocks(tf.body, tf.suppressions))
        before, after = blocks
        for key in before.keys() | after.keys():
            if before.get(key) == after.get(key):
                continue
            kind, labels = key
            if kind not in ("resource", "data") or len(labels) != 2:
                return None
            address = f"{labels[0]}.{labels[1]}" if kind == "resource" else f"data.{labels[0]}.{labels[1]}"
            found.setdefault(posixpath.dirname(path), set()).add(address)
    return found


def _blocks(body: list[Any], suppressions: dict[int, Any]) -> dict[tuple[str, tuple[str, ...]], list[Any]]:
    """Top-level items by kind and labels (a ``locals`` block or a stray attribute by its position)."""
    out: dict[tuple[str, tuple[str, ...]], list[Any]] = {}
    for index, item in enumerate(body):
        if item[0] == "b":
            key = (item[1], tuple(item[2])) if item[1] in ("resource", "data") else (item[1], (str(index),))
            out.setdefault(key, []).append([item, suppressions.get(item[4])])
        else:
            out.setdefault(("attribute", (str(index),)), []).append(item)
    return out


def text(found: Focus) -> str:
    """A stable text of a focus, for cache keys."""
    return json.dumps(sorted((directory, sorted(addresses)) for directory, addresses in found.items()))
