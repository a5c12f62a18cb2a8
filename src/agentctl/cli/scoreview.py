"""``agentctl score`` for people: a level out of 1 to 5, evidence in words, no raw JSON or ``None``."""

from __future__ import annotations

from typing import Any

_MARKS = {"PASS": "✓", "FAIL": "✗", "UNKNOWN": "?", "NOT_APPLICABLE": "-"}
_OUTCOMES = {"PASS": "pass", "FAIL": "FAIL", "UNKNOWN": "unknown", "NOT_APPLICABLE": "n/a"}
_MAX_EVIDENCE = 110


def title(level: int, names: dict[int, str]) -> str:
    top = max(names)
    if level < 1:
        return f"Level: not yet at level 1 of {top} (level 1 is {names[1]})"
    return f"Level {level} of {top}: {names[level]}"


def describe(value: Any) -> str:
    """Evidence values in words: lists as counts or items, nested records flattened, unknowns as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        items = [describe(v) for v in value]
        return ", ".join(items) if len(items) <= 2 else f"{len(items)} ({items[0]}, …)"
    if isinstance(value, dict):
        parts = [f"{str(k).replace('_', ' ')} {describe(v)}" for k, v in value.items() if v is not None]
        return "; ".join(parts) if parts else "n/a"
    return str(value)


def evidence(record: Any) -> str:
    text = describe(record)
    return text if len(text) <= _MAX_EVIDENCE else text[: _MAX_EVIDENCE - 1] + "…"


def criterion_line(result: dict[str, Any]) -> str:
    mark, outcome = _MARKS[result["outcome"]], _OUTCOMES[result["outcome"]]
    return f"L{result['level']} {mark} {result['id']:<24} {outcome:<8} {evidence(result['evidence'])}"


def dora_line(dora: dict[str, Any]) -> str:
    overall = dora["all"]
    rate = overall.get("change_failure_rate")
    lead = overall.get("lead_time_hours_median")
    rate_text = f"{rate:.0%}" if isinstance(rate, (int, float)) else "n/a (no deployments yet)"
    lead_text = f"{describe(lead)} h" if isinstance(lead, (int, float)) else "n/a"
    return (
        f"DORA (approximated from git, last {dora['window_days']} days): {overall['deployments']} deployments, "
        f"change failure rate {rate_text}, median lead time {lead_text}; "
        f"deployments by agents {dora['agent']['deployments']}, by humans {dora['human']['deployments']}"
    )
