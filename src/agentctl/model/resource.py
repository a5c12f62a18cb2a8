"""Resources as rules see them, and how they changed.

Every source (HCL, plan JSON, Kubernetes YAML) normalises into ``Resource``
before any rule runs: blocks are lists of dicts, attributes are plain values,
and parser bookkeeping (line markers, quoting) is gone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from agentctl.model.common import ChangeKind, Location, Target


def is_unknown(value: Any) -> bool:
    """Whether a Terraform value (or anything inside it) is known only after apply.

    Evaluation leaves such values as their ``"${expression}"`` text (a data
    source, another resource's attribute, an unset variable), never a guess.
    """
    if isinstance(value, str):
        return value.startswith("${") and value.endswith("}")
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    return False


class Suppression(BaseModel):
    """An inline ``agentctl:ignore=<rule-id> reason="…" until=YYYY-MM-DD`` comment."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    reason: str | None
    until: dt.date | None
    line: int
    raw: str

    @property
    def valid(self) -> bool:
        return bool(self.reason and self.reason.strip())

    def expired(self, today: dt.date) -> bool:
        return self.until is not None and self.until < today


class InputSite(NamedTuple):
    """Where a value a Terraform resource depends on is defined: a variable, tfvars entry, module argument, local.

    A named tuple, not a model: a resource may depend on dozens, and thousands are read from the cache.
    """

    name: str
    """``var.node_count``, ``module.eks.node_groups``, ``local.tags``."""
    path: str
    line: int
    digest: str
    """Of the defining text: it differs between BASE and HEAD exactly when the definition was edited."""
    attrs: tuple[str, ...] = ()
    """The resource's top-level attributes whose value used it."""


class Resource(BaseModel):
    """One Terraform resource/data/module block, plan entry or Kubernetes object."""

    model_config = ConfigDict(frozen=True)

    target: Target
    type: str
    """Terraform type (``aws_instance``, ``module``) or Kubernetes kind."""
    address: str
    """``aws_instance.web``, ``data.x.y``, ``module.m``; or ``Kind/namespace/name``."""
    key: str
    """Identity used to pair BASE and HEAD versions of the same resource."""
    attributes: dict[str, Any]
    location: Location
    suppressions: tuple[Suppression, ...] = ()
    origin: str = "hcl"
    """``hcl``, ``plan`` or ``yaml``: which source produced it (``forgotten``: a ``removed`` block's marker)."""
    inputs: tuple[InputSite, ...] = ()
    """Terraform: the inputs its evaluated attributes came from (see ``sources.terraform.evaluate``)."""
    moved_from: tuple[str, ...] = ()
    """Terraform: the keys ``moved`` blocks say it had before (paired with BASE under those)."""
    block_digest: str = ""
    """Terraform: a digest of the block's own text, to tell an edit of the block from an edit of an input."""
    plan_before: dict[str, Any] | None = None
    plan_change: ChangeKind | None = None
    """Plan JSON carries its own before/after and action; other sources leave these unset."""


class ResourceChange(BaseModel):
    """A resource as it was at BASE (``before``) and as it is now (``after``)."""

    model_config = ConfigDict(frozen=True)

    change: ChangeKind
    before: Resource | None
    after: Resource | None
    changed_inputs: tuple[InputSite, ...] = ()
    """An update made through inputs only (the block itself unchanged): the inputs that were edited."""
    instances: tuple[int, int] | None = None
    """(before, after): how many instances the resource's block had and has, when the change gives it (or a
    module call it is in) ``count``/``for_each`` where it had none, or takes them away; set on one change per block."""

    @property
    def current(self) -> Resource:
        """The version findings point at: the new one, or the deleted one."""
        resource = self.after or self.before
        assert resource is not None
        return resource


class Note(BaseModel):
    """Something the check skipped or wants the reader to know, not a finding."""

    model_config = ConfigDict(frozen=True)

    path: str
    message: str
