"""Terraform plan JSON (``terraform show -json``) into resources with real before/after."""

from __future__ import annotations

import json
from typing import Any

from agentctl.model.common import ChangeKind, Location, Target
from agentctl.model.resource import Note, Resource
from agentctl.sources.interface import ParsedFile, ParseIssue


def looks_like_plan(text: str) -> bool:
    """Cheap test so arbitrary JSON files in a repository are not parsed."""
    head = text[:4096]
    return '"format_version"' in head and ("resource_changes" in text or "planned_values" in text)


def parse(path: str, text: str) -> ParsedFile:
    result = ParsedFile(path)
    if not looks_like_plan(text):
        message = "JSON file that is not a Terraform plan; skipped"
        if '"terraform_version"' in text[:4096]:
            message = "Terraform state JSON without resource_changes (not a plan); skipped"
        result.notes.append(Note(path=path, message=message))
        return result
    try:
        document = json.loads(text)
    except RecursionError:
        result.issues.append(ParseIssue(path, 1, "plan JSON nesting too deep to parse"))
        return result
    except json.JSONDecodeError as exc:
        result.issues.append(ParseIssue(path, exc.lineno, f"invalid plan JSON: {exc.msg}"))
        return result
    changes = document.get("resource_changes") if isinstance(document, dict) else None
    if not isinstance(changes, list):
        result.issues.append(ParseIssue(path, 1, "plan JSON has no resource_changes list"))
        return result

    cursor = 0
    for entry in changes:
        if not isinstance(entry, dict) or not isinstance(entry.get("change"), dict):
            continue
        address = str(entry.get("address", ""))
        rtype = str(entry.get("type", ""))
        change = entry["change"]
        kind = _change_kind(change.get("actions") or [])
        if kind is None or not address:
            continue
        needle = f'"address": "{address}"'
        found = text.find(needle, cursor)
        if found == -1:
            found = text.find(f'"address":"{address}"', cursor)
        if found != -1:
            cursor = found + 1
        line = text.count("\n", 0, found) + 1 if found != -1 else 1
        before = change.get("before")
        after = change.get("after")
        attributes = after if kind is not ChangeKind.DELETE else before
        result.resources.append(
            Resource(
                target=Target.TERRAFORM,
                type=rtype,
                address=address,
                key=f"plan:{path}:{address}",
                attributes=_as_dict(attributes),
                location=Location(path=path, start_line=line, end_line=line),
                origin="plan",
                plan_before=_as_dict(before) if before is not None else None,
                plan_change=kind,
            )
        )
    return result


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _change_kind(actions: list[str]) -> ChangeKind | None:
    if actions == ["create"]:
        return ChangeKind.CREATE
    if actions == ["delete"]:
        return ChangeKind.DELETE
    if "update" in actions or ("delete" in actions and "create" in actions):
        return ChangeKind.UPDATE
    if actions == ["no-op"]:
        return ChangeKind.NONE
    return None  # "read" and anything unknown: nothing is changing
