"""What an approval approves: one finding (rule + path + line) or one tool call, never "the run".

An approval carries ``covers``: the findings it clears, each ``{rule_id, path,
line}`` (``line`` ``None`` for every line of that rule in that file, which is
what the gate's terminal prompt approves: the call writing that file). A
finding needing approval is cleared only by a believed (MAC-verified) approval
that covers it; an approval for finding A never clears finding B.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentctl.store.integrity import digest


def needing_approval(findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The run's open ``require_approval`` findings."""
    return [dict(f) for f in findings if f.get("action") == "require_approval" and f.get("status", "open") == "open"]


def key(finding: Mapping[str, Any]) -> dict[str, Any]:
    return {"rule_id": finding.get("rule_id"), "path": finding.get("path"), "line": finding.get("line")}


def label(finding: Mapping[str, Any]) -> str:
    where = f"{finding.get('path')}:{finding.get('line')}" if finding.get("line") else str(finding.get("path"))
    return f"{finding.get('rule_id')}:{where}"


def covers(cover: Mapping[str, Any], finding: Mapping[str, Any]) -> bool:
    return (
        cover.get("rule_id") == finding.get("rule_id")
        and cover.get("path") == finding.get("path")
        and (cover.get("line") is None or cover.get("line") == finding.get("line"))
    )


def cleared_by(finding: Mapping[str, Any], approvals: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The believed approval that clears this finding, if any."""
    for approval in approvals:
        if approval.get("decision") == "approve" and any(covers(c, finding) for c in approval.get("covers") or []):
            return approval
    return None


def uncovered(findings: Iterable[Mapping[str, Any]], approvals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in needing_approval(findings) if cleared_by(f, approvals) is None]


def all_approved(
    verdict: str | None, findings: Sequence[Mapping[str, Any]], approvals: Sequence[Mapping[str, Any]]
) -> bool:
    """An ``approval_required`` verdict whose every finding a believed approval clears.

    A verdict needing approval with no finding on record (nothing to bind to)
    needs at least one believed approval of the run.
    """
    if verdict != "approval_required":
        return False
    if not needing_approval(findings):
        return any(a.get("decision") == "approve" for a in approvals)
    return not uncovered(findings, approvals)


def parse_spec(spec: str) -> dict[str, Any]:
    """``RULE``, ``RULE:PATH`` or ``RULE:PATH:LINE`` (the form ``agentctl runs verdict`` prints)."""
    rule, _, rest = spec.partition(":")
    path: str | None = rest or None
    line: int | None = None
    if path and ":" in path:
        head, _, tail = path.rpartition(":")
        if tail.isdigit():
            path, line = head, int(tail)
    return {"rule_id": rule.strip(), "path": path, "line": line}


def matches_spec(spec: Mapping[str, Any], finding: Mapping[str, Any]) -> bool:
    return (
        spec["rule_id"] == finding.get("rule_id")
        and (spec["path"] is None or spec["path"] == finding.get("path"))
        and (spec["line"] is None or spec["line"] == finding.get("line"))
    )


def gate_binding(record: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Target and covers of an approval given at the gate's terminal prompt for one tool call.

    The target names the tool call id and a digest of its exact input; it covers
    the ``require_approval`` rules the gate found, on the paths that call writes.
    """
    target = f"tool:{record.get('tool_id') or '-'}:{digest(record.get('tool_input'))}"
    rules = sorted(
        {str(f.get("rule_id")) for f in record.get("findings") or [] if f.get("action") == "require_approval"}
    )
    paths = [str(p) for p in record.get("paths") or []]
    return target, [{"rule_id": r, "path": p, "line": None} for r in rules for p in paths]
