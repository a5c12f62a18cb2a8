"""Instantiate the Terraform resources of parsed files, one side (a working tree, a commit) at a time.

Evaluation needs every file of a configuration and is cached by the content
of all of them (see :meth:`ParseCache.evaluation_key`); cached resources are
rebuilt without re-validation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import InputSite, Note, Resource, Suppression
from agentctl.sources import terraform
from agentctl.sources.interface import ParsedFile
from agentctl.sources.loader import ParseCache
from agentctl.sources.terraform import focus as terraform_focus
from agentctl.sources.terraform.focus import Focus


def evaluate_terraform(
    parsed: list[ParsedFile],
    var_files: Sequence[str] = (),
    cache: ParseCache | None = None,
    installed: dict[str, dict[str, str]] | None = None,
) -> None:
    """Instantiate the Terraform resources of one side (a working tree, a commit); cached by content."""
    entries, notes = _evaluated(parsed, var_files, cache, installed)
    resources = _materialise(entries)
    if resources is None:  # a damaged cache entry: evaluate afresh
        entries, notes = _evaluated(parsed, var_files, None, installed)
        resources = _materialise(entries) or []
    terraform.attach(parsed, resources, notes)


def evaluate_sides(
    base: list[ParsedFile],
    head: list[ParsedFile],
    var_files: Sequence[str] = (),
    cache: ParseCache | None = None,
    keep_unchanged: bool = False,
    changed: Collection[str] | None = None,
) -> tuple[Callable[[], list[Member]], Callable[[], list[Member]]]:
    """Both sides of a diff; resources identical on both sides are left out unless ``keep_unchanged``.

    Only what differs can be a change, and an unchanged resource costs as much to rebuild as a changed one.
    When ``changed`` (the paths the diff changes) edits only ``resource``/``data`` blocks, only those blocks
    are instantiated (see :mod:`agentctl.sources.terraform.focus`): no other resource can differ.

    Returns, per side, a function giving every resource of that side, unchanged ones included, as
    :data:`Member` values (for rules that look at a resource's neighbours; evaluated in full only if asked).
    """
    focus = None if keep_unchanged or changed is None else terraform_focus.focus(base, head, changed)
    base_entries, base_notes = _evaluated(base, var_files, cache, None, focus)
    head_entries, head_notes = _evaluated(head, var_files, cache, None, focus)
    members = (
        _members(base, var_files, cache, base_entries if focus is None else None),
        _members(head, var_files, cache, head_entries if focus is None else None),
    )
    if not keep_unchanged:
        before = {raw["key"]: raw for raw, _ in base_entries}
        same = {raw["key"] for raw, _ in head_entries if before.get(raw["key"]) == raw}
        base_entries = [e for e in base_entries if e[0]["key"] not in same]
        head_entries = [e for e in head_entries if e[0]["key"] not in same]
    base_resources, head_resources = _materialise(base_entries), _materialise(head_entries)
    if base_resources is None or head_resources is None:  # a damaged cache entry: evaluate afresh
        return evaluate_sides(base, head, var_files, None, keep_unchanged, changed)
    terraform.attach(base, base_resources, base_notes)
    terraform.attach(head, head_resources, head_notes)
    return members


def _members(
    parsed: list[ParsedFile], var_files: Sequence[str], cache: ParseCache | None, entries: list[Entry] | None
) -> Callable[[], list[Member]]:
    """Every resource of one side, from the entries at hand or (at most once) a full evaluation."""

    @functools.cache
    def members() -> list[Member]:
        found = entries if entries is not None else _evaluated(parsed, var_files, cache, None, None)[0]
        return [_member(raw) for raw, _ in found]

    return members


Member = tuple[str, str, str, dict[str, Any]]
"""(key, type, address, attributes) of an evaluated resource: what ``engine.related`` indexes."""


def _member(raw: dict[str, Any]) -> Member:
    return (str(raw.get("key")), str(raw.get("type")), str(raw.get("address")), raw.get("attributes") or {})


def _materialise(entries: list[Entry]) -> list[Resource] | None:
    try:
        return [resource or _resource(raw) for raw, resource in entries]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


Entry = tuple[dict[str, Any], Resource | None]
"""A resource as JSON (for the cache and comparisons), and as a model when it was just evaluated."""


def _evaluated(
    parsed: list[ParsedFile],
    var_files: Sequence[str],
    cache: ParseCache | None,
    installed: dict[str, dict[str, str]] | None,
    focus: Focus | None = None,
) -> tuple[list[Entry], list[Note]]:
    extra = [json.dumps(installed or {})] + ([] if focus is None else [terraform_focus.text(focus)])
    key = cache.evaluation_key(parsed, [*var_files, *extra]) if cache is not None else None
    stored = cache.get_evaluation(key) if cache is not None and key is not None else None
    if stored is not None:
        return [(raw, None) for raw in stored[0]], stored[1]
    resources, notes = terraform.evaluate_files(parsed, tuple(var_files), installed, focus)
    entries: list[Entry] = [(_raw(r), r) for r in resources]
    if cache is not None and key is not None:
        cache.put_evaluation(key, [raw for raw, _ in entries], notes)
    return entries, notes


def _raw(resource: Resource) -> dict[str, Any]:
    """What ``model_dump(mode="json")`` gives for an evaluated Terraform resource, at a fraction of the cost."""
    if resource.origin not in ("hcl", "forgotten") or resource.plan_before is not None:
        return resource.model_dump(mode="json")
    location = resource.location
    return {
        "target": resource.target.value,
        "type": resource.type,
        "address": resource.address,
        "key": resource.key,
        "attributes": resource.attributes,
        "location": {"path": location.path, "start_line": location.start_line, "end_line": location.end_line},
        "suppressions": [m.model_dump(mode="json") for m in resource.suppressions],
        "origin": resource.origin,
        "inputs": [[i.name, i.path, i.line, i.digest, list(i.attrs)] for i in resource.inputs],
        "moved_from": list(resource.moved_from),
        "block_digest": resource.block_digest,
        "plan_before": None,
        "plan_change": None,
    }


def _resource(raw: dict[str, Any]) -> Resource:
    """A cached evaluated resource, rebuilt without re-validation (a thousand of them cost 0.3 s validated).

    Only Terraform evaluation output is stored this way; a malformed entry raises and counts as a miss.
    """
    if raw["origin"] not in ("hcl", "forgotten") or raw.get("plan_before") is not None:
        return Resource.model_validate(raw)
    location = raw["location"]
    return Resource.model_construct(
        target=Target(raw["target"]),
        type=str(raw["type"]),
        address=str(raw["address"]),
        key=str(raw["key"]),
        attributes=dict(raw["attributes"]),
        location=Location.model_construct(
            path=str(location["path"]), start_line=int(location["start_line"]), end_line=int(location["end_line"])
        ),
        suppressions=tuple(Suppression.model_validate(m) for m in raw["suppressions"]),
        origin=str(raw["origin"]),
        inputs=tuple(_site((str(i[0]), str(i[1]), int(i[2]), str(i[3]), tuple(i[4]))) for i in raw["inputs"]),
        moved_from=tuple(str(k) for k in raw["moved_from"]),
        block_digest=str(raw["block_digest"]),
        plan_before=None,
        plan_change=None,
    )


_site = InputSite._make
"""Build an :class:`InputSite` from a tuple without the keyword-capable constructor (thousands per scan)."""
