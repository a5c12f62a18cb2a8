"""Resources as rules see them, and how they changed.

Every source (HCL, plan JSON, Kubernetes YAML) normalises into ``Resource``
before any rule runs: blocks are lists of dicts, attributes are plain values,
and parser bookkeeping (line markers, quoting) is gone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentctl.model.common import ChangeKind, Location, Target


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
    """``hcl``, ``plan`` or ``yaml``: which source produced it."""
    plan_before: dict[str, Any] | None = None
    plan_change: ChangeKind | None = None
    """Plan JSON carries its own before/after and action; other sources leave these unset."""


class ResourceChange(BaseModel):
    """A resource as it was at BASE (``before``) and as it is now (``after``)."""

    model_config = ConfigDict(frozen=True)

    change: ChangeKind
    before: Resource | None
    after: Resource | None

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
