"""One probe per criterion: a pure question answered from the collected evidence.

``PROBES`` is an explicit registry; ``check_registry`` fails loudly when the
criteria file and the probes disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from agentctl.store.sqlite import RunRecord


class Outcome(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"
    NOT_APPLICABLE = "NOT_APPLICABLE"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    evidence: dict[str, Any]


@dataclass
class Evidence:
    """Everything probes may look at, collected once."""

    root: Path
    commit_count: int
    files: list[str]
    agent_commits: int
    runs: list[RunRecord]
    approvals: list[dict[str, Any]]
    trust_defined: bool
    trust_scopes: list[dict[str, Any]]
    dora: dict[str, Any]
    ci_files: dict[str, str] = field(default_factory=dict)


TEST_COMMAND = re.compile(
    r"\b(pytest|tox|nox|npm (run )?test|yarn test|pnpm test|go test|cargo test|make test|mvn (-\S+ )*test"
    r"|gradle\w* test|bundle exec rspec|phpunit|dotnet test)\b"
)
INSTRUCTION_FILES = ("CLAUDE.md", "AGENTS.md", ".github/copilot-instructions.md", ".cursorrules")


def version_control(e: Evidence) -> Result:
    return Result(Outcome.PASS if e.commit_count > 0 else Outcome.FAIL, {"commits": e.commit_count})


def agent_instructions(e: Evidence) -> Result:
    found = [f for f in e.files if f in INSTRUCTION_FILES or f.startswith(".codex/") or f.endswith("/AGENTS.md")]
    return Result(Outcome.PASS if found else Outcome.FAIL, {"files": sorted(found)})


def agent_authored_changes(e: Evidence) -> Result:
    ok = e.agent_commits > 0 or bool(e.runs)
    return Result(
        Outcome.PASS if ok else Outcome.FAIL, {"agent_commits": e.agent_commits, "recorded_runs": len(e.runs)}
    )


def ci_runs_tests(e: Evidence) -> Result:
    if not e.ci_files:
        return Result(Outcome.FAIL, {"ci_files": []})
    running = sorted(path for path, text in e.ci_files.items() if TEST_COMMAND.search(text))
    return Result(Outcome.PASS if running else Outcome.FAIL, {"ci_files": sorted(e.ci_files), "running_tests": running})


def policy_as_code_in_ci(e: Evidence) -> Result:
    policies = sorted(f for f in e.files if f.startswith("policies/") and f.endswith((".yaml", ".yml")))
    enforcing = sorted(
        path
        for path, text in e.ci_files.items()
        if "agentctl check" in text or "agentctl/agentctl" in text or "agentctl-check" in text
    )
    ok = bool(policies) and bool(enforcing)
    return Result(Outcome.PASS if ok else Outcome.FAIL, {"policy_files": policies, "enforced_in": enforcing})


def _share(runs: list[RunRecord], predicate: Callable[[RunRecord], bool]) -> tuple[int, int]:
    finished = [r for r in runs if r.status != "running"]
    return sum(predicate(r) for r in finished), len(finished)


def runs_carry_validation(e: Evidence) -> Result:
    validated, total = _share(e.runs, lambda r: r.verdict is not None)
    if total == 0:
        return Result(Outcome.UNKNOWN, {"recorded_runs": 0})
    return Result(Outcome.PASS if validated >= 0.8 * total else Outcome.FAIL, {"validated": validated, "runs": total})


def budgets_configured(e: Evidence) -> Result:
    keys = ("max_usd", "max_tokens", "max_turns", "max_tool_calls", "timeout", "idle_timeout")
    bounded, total = _share(e.runs, lambda r: any(k in r.limits for k in keys))
    if total == 0:
        return Result(Outcome.UNKNOWN, {"recorded_runs": 0})
    return Result(Outcome.PASS if bounded >= 0.8 * total else Outcome.FAIL, {"bounded": bounded, "runs": total})


def approvals_recorded(e: Evidence) -> Result:
    needing = [r.id for r in e.runs if r.verdict == "approval_required"]
    if not needing:
        return Result(Outcome.NOT_APPLICABLE, {"runs_needing_approval": 0})
    decided = {a["run_id"] for a in e.approvals}
    missing = sorted(set(needing) - decided)
    return Result(
        Outcome.PASS if not missing else Outcome.FAIL,
        {"runs_needing_approval": len(needing), "without_decision": missing},
    )


def trust_threshold_met(e: Evidence) -> Result:
    autonomous = sorted(f"{s['agent']}:{s['scope']}" for s in e.trust_scopes if s["decision"] == "autonomous")
    ok = e.trust_defined and bool(autonomous)
    return Result(Outcome.PASS if ok else Outcome.FAIL, {"trust_configured": e.trust_defined, "autonomous": autonomous})


def agent_cfr_not_worse(e: Evidence) -> Result:
    agent, human = e.dora["agent"], e.dora["human"]
    evidence = {"agent": agent, "human": human}
    if agent["deployments"] < 5 or human["deployments"] < 5:
        return Result(Outcome.UNKNOWN, {**evidence, "note": "fewer than 5 deployments on one side"})
    ok = agent["change_failure_rate"] <= human["change_failure_rate"]
    return Result(Outcome.PASS if ok else Outcome.FAIL, evidence)


PROBES: dict[str, Callable[[Evidence], Result]] = {
    "version-control": version_control,
    "agent-instructions": agent_instructions,
    "agent-authored-changes": agent_authored_changes,
    "ci-runs-tests": ci_runs_tests,
    "policy-as-code-in-ci": policy_as_code_in_ci,
    "runs-carry-validation": runs_carry_validation,
    "budgets-configured": budgets_configured,
    "approvals-recorded": approvals_recorded,
    "trust-threshold-met": trust_threshold_met,
    "agent-cfr-not-worse": agent_cfr_not_worse,
}


def check_registry(criteria_ids: list[str]) -> None:
    if len(set(criteria_ids)) != len(criteria_ids) or any(not c for c in criteria_ids):
        raise ValueError("criteria ids must be unique and non-empty")
    if set(criteria_ids) != set(PROBES):
        missing, extra = sorted(set(criteria_ids) - set(PROBES)), sorted(set(PROBES) - set(criteria_ids))
        raise ValueError(f"criteria without probes: {missing}; probes without criteria: {extra}")
