"""Pair the BASE and HEAD versions of resources into changes.

Terraform resources are identified by module directory and address, so a
resource moved between files of one module is an update, not a delete and a
create. Kubernetes objects by API group, kind, namespace and name. Plan
entries carry their own before/after and action.
"""

from __future__ import annotations

from collections.abc import Iterable

from agentctl.model.common import ChangeKind
from agentctl.model.resource import Resource, ResourceChange


def as_new(resources: Iterable[Resource]) -> list[ResourceChange]:
    """Without a BASE everything is a create (plans keep their own actions)."""
    return [
        _plan_change(r) if r.origin == "plan" else ResourceChange(change=ChangeKind.CREATE, before=None, after=r)
        for r in resources
    ]


def pair(base: Iterable[Resource], head: Iterable[Resource], include_unchanged: bool = False) -> list[ResourceChange]:
    head_list = list(head)
    changes = [_plan_change(r) for r in head_list if r.origin == "plan"]
    before = _by_key(r for r in base if r.origin != "plan")
    after = _by_key(r for r in head_list if r.origin != "plan")
    for key, new in after.items():
        old = before.get(key)
        if old is None:
            changes.append(ResourceChange(change=ChangeKind.CREATE, before=None, after=new))
        elif old.attributes != new.attributes:
            changes.append(ResourceChange(change=ChangeKind.UPDATE, before=old, after=new))
        elif include_unchanged or old.suppressions != new.suppressions:
            changes.append(ResourceChange(change=ChangeKind.NONE, before=old, after=new))
    for key, old in before.items():
        if key not in after:
            changes.append(ResourceChange(change=ChangeKind.DELETE, before=old, after=None))
    return changes


def _by_key(resources: Iterable[Resource]) -> dict[str, Resource]:
    table: dict[str, Resource] = {}
    for resource in resources:
        key = resource.key
        if key in table:  # same identity twice (e.g. two overlays): keep both apart by file
            key = f"{key}@{resource.location.path}"
        table[key] = resource
    return table


def _plan_change(resource: Resource) -> ResourceChange:
    kind = resource.plan_change or ChangeKind.CREATE
    before = (
        resource.model_copy(update={"attributes": resource.plan_before}) if resource.plan_before is not None else None
    )
    if kind is ChangeKind.DELETE:
        return ResourceChange(change=kind, before=before or resource, after=None)
    return ResourceChange(change=kind, before=before if kind is not ChangeKind.CREATE else None, after=resource)
