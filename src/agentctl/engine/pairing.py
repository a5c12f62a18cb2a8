"""Pair the BASE and HEAD versions of resources into changes.

Terraform resources are identified by their root module and full address
(``module.eks.aws_eks_node_group.this["gpu"]``), so a resource moved between
files of one module is an update, not a delete and a create, and a change
made only through a variable, a ``.tfvars`` entry, a local or a module input
is an update of every resource it reaches, carrying the inputs that changed.
Kubernetes objects by API group, kind, namespace and name. Plan entries
carry their own before/after and action.
"""

from __future__ import annotations

from collections.abc import Iterable

from agentctl.model.common import ChangeKind
from agentctl.model.resource import InputSite, Resource, ResourceChange


def as_new(resources: Iterable[Resource]) -> list[ResourceChange]:
    """Without a BASE everything is a create (plans keep their own actions)."""
    return [
        _plan_change(r) if r.origin == "plan" else ResourceChange(change=ChangeKind.CREATE, before=None, after=r)
        for r in resources
        if r.origin != "forgotten"
    ]


def pair(base: Iterable[Resource], head: Iterable[Resource], include_unchanged: bool = False) -> list[ResourceChange]:
    head_list = list(head)
    changes = [_plan_change(r) for r in head_list if r.origin == "plan"]
    forgotten = [r.key for r in head_list if r.origin == "forgotten"]
    before = _by_key(r for r in base if r.origin not in ("plan", "forgotten"))
    after = _by_key(r for r in head_list if r.origin not in ("plan", "forgotten"))
    renamed = {old: new.key for new in after.values() for old in new.moved_from if new.key not in before}
    for key, new in after.items():
        old = before.get(key) or next((before[k] for k in new.moved_from if k in before and k not in after), None)
        if old is None:
            changes.append(ResourceChange(change=ChangeKind.CREATE, before=None, after=new))
        elif old.attributes != new.attributes:
            changes.append(
                ResourceChange(change=ChangeKind.UPDATE, before=old, after=new, changed_inputs=changed_inputs(old, new))
            )
        elif include_unchanged or old.suppressions != new.suppressions:
            changes.append(ResourceChange(change=ChangeKind.NONE, before=old, after=new))
    for key, old in before.items():
        if key in after or key in renamed or any(_covers(f, key) for f in forgotten):
            continue  # still there, renamed by a `moved` block, or left in place by a `removed` block
        changes.append(ResourceChange(change=ChangeKind.DELETE, before=old, after=None))
    return changes


def _covers(prefix: str, key: str) -> bool:
    return key == prefix or key.startswith((prefix + ".", prefix + "["))


def changed_inputs(old: Resource, new: Resource) -> tuple[InputSite, ...]:
    """The inputs edited between BASE and HEAD, when the block itself was not (else: none)."""
    if not new.inputs or not old.block_digest or old.block_digest != new.block_digest:
        return ()
    before = {(site.name, site.path): site.digest for site in old.inputs}
    edited = [site for site in new.inputs if before.get((site.name, site.path)) != site.digest]
    return tuple(sorted(edited, key=_origin_first))


def _origin_first(site: InputSite) -> tuple[int, str, int]:
    """A tfvars entry before a variable default, before a module argument, before a local."""
    rank = 0 if site.path.endswith((".tfvars", ".tfvars.json")) else 1 if site.name.startswith("var.") else 2
    if site.name.startswith("local."):
        rank = 3
    return (rank, site.path, site.line)


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
