"""Inline suppressions: ``# agentctl:ignore=<rule-id>[,<id>] reason="…" until=YYYY-MM-DD``.

Comments work in HCL (``#``, ``//``) and YAML (``#``). A suppression belongs to
the block whose lines contain it, or to the block directly below a run of
comment lines.
"""

from __future__ import annotations

import datetime as dt
import re

from agentctl.model.resource import Suppression

_MARKER = re.compile(r"agentctl:ignore=([A-Za-z0-9_,-]+)(.*)$")
_REASON = re.compile(r"""reason=(?:"([^"]*)"|'([^']*)'|(\S+))""")
_UNTIL = re.compile(r"until=(\S+)")
_COMMENT = re.compile(r"^\s*(#|//)")


def find(lines: list[str], start_line: int, end_line: int) -> tuple[Suppression, ...]:
    """Suppressions for the block spanning ``start_line``..``end_line`` (1-based)."""
    first = start_line
    while first > 1 and _COMMENT.match(lines[first - 2]):
        first -= 1
    found: list[Suppression] = []
    for number in range(first, min(end_line, len(lines)) + 1):
        text = lines[number - 1]
        if "agentctl:ignore" not in text:
            continue
        match = _MARKER.search(text)
        if not match:
            continue
        rest = match.group(2)
        reason_match = _REASON.search(rest)
        reason = next((g for g in reason_match.groups() if g is not None), None) if reason_match else None
        until = _parse_date(_UNTIL.search(rest))
        for rule_id in filter(None, match.group(1).split(",")):
            found.append(Suppression(rule_id=rule_id, reason=reason, until=until, line=number, raw=text.strip()))
    return tuple(found)


def _parse_date(match: re.Match[str] | None) -> dt.date | None:
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1).strip("\"'"))
    except ValueError:
        # An unreadable date must not extend a suppression forever: treat it as expired.
        return dt.date.min
