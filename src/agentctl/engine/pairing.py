"""Pair the BASE and HEAD versions of resources into changes.

Terraform resources are identified by their root module and full address
(``module.eks.aws_eks_node_group.this["gpu"]``), so a resource moved between
files of one module is an update, not a delete and a create, and a change
made only through a variable, a ``.tfvars`` entry, a local or a module input
is an update of every resource it reaches, carrying the inputs that changed.
A resource given ``count`` where it had none keeps its object as instance
``[0]`` (and the reverse), as Terraform's implied moves do; a block that went
from one unkeyed instance to several keyed ones (its own ``count``/``for_each``
or a module call's) is marked with ``instances`` on one of its changes.
Kubernetes objects by API group, kind, namespace and name. Plan entries
carry their own before/after and action.
"""

from __future__ import annotations

import re
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
    implied = _implied_moves(before, after)
    renamed.update({old: new for new, old in implied.items()})
    for key, new in after.items():
        old = before.get(key) or next((before[k] for k in new.moved_from if k in before and k not in after), None)
        if old is None and key in implied:
            old = before[implied[key]]
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
    return _scaled(changes, before, after)


_DATA = re.compile(r"(?:^|(?<!^module)(?<!\.module)\.)data\.[^.]+\.[^.\[]+(?:\[[^\]]*\])?$")
"""A data source's address: reading more of them scales nothing."""
_INSTANCE_KEY = re.compile(r'\[(?:\d+|\*|"(?:[^"\\]|\\.)*")\]')


def _implied_moves(before: dict[str, Resource], after: dict[str, Resource]) -> dict[str, str]:
    """New key -> old key for Terraform's implied moves: a resource given ``count`` where it had none keeps
    its object as instance ``[0]``, and one whose ``count`` is taken away keeps instance ``[0]``'s object.

    Terraform does this for resources only (not module calls, not ``for_each``), and not for a resource a
    ``moved`` block mentions.
    """
    out: dict[str, str] = {}
    for key, new in after.items():
        if key in before or new.moved_from or new.target.value != "terraform":
            continue
        if key.endswith("[0]"):
            old = key[: -len("[0]")]
        elif not key.endswith("]"):
            old = key + "[0]"
        else:
            continue
        if old in before and old not in after and not before[old].moved_from:
            out[key] = old
    return out


def _scaled(
    changes: list[ResourceChange], before: dict[str, Resource], after: dict[str, Resource]
) -> list[ResourceChange]:
    """Mark one change per block whose instances went from none-keyed to keyed (or back), with the counts.

    A block without ``count``/``for_each`` is one instance; given ``count = 100``, or put in a module call
    given one, it is a hundred: a scale jump a per-instance comparison cannot see (each instance is new).
    """
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for side, table in ((0, before), (1, after)):
        for key, resource in table.items():
            if resource.target.value == "terraform" and "@" not in key and not _DATA.search(resource.address):
                groups.setdefault(_INSTANCE_KEY.sub("", key), ([], []))[side].append(key)
    marked: dict[str, tuple[int, int]] = {}
    for old_keys, new_keys in groups.values():
        if not old_keys or not new_keys or len(old_keys) == len(new_keys):
            continue
        if _keyed(old_keys) == _keyed(new_keys):
            continue  # only a change of count or keys, which the attributes show
        marked[min(new_keys)] = (len(old_keys), len(new_keys))
    if not marked:
        return changes
    out = []
    for change in changes:
        current = change.after
        if current is not None and current.key in marked and change.change is not ChangeKind.DELETE:
            change = change.model_copy(update={"instances": marked.pop(current.key)})
        out.append(change)
    return out


def _keyed(keys: list[str]) -> int:
    """How many instance keys the addresses carry (the most any has)."""
    return max(len(_INSTANCE_KEY.findall(k)) for k in keys)


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
