"""Wiring of ``agentctl trust``, ``trust decide`` and ``verify``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agentctl.cli.main import UsageError
from agentctl.exitcodes import ExitCode


def show(fmt: str, key: Path | None) -> int:
    from agentctl.pipeline.trust import attest, report

    if fmt not in ("table", "json", "markdown", "intoto"):
        raise UsageError(f"unknown format '{fmt}'", "choose table, json, markdown or intoto")
    trust = report(Path.cwd())
    if fmt == "json":
        sys.stdout.write(json.dumps({"schema": "agentctl/trust", **trust.predicate()}, indent=2) + "\n")
    elif fmt == "intoto":
        text, signed = attest(trust, key)
        sys.stdout.write(text)
        if not signed:
            sys.stderr.write("agentctl: the statement is UNSIGNED (pass --key or set AGENTCTL_SIGNING_KEY)\n")
    elif fmt == "markdown":
        lines = [
            "## agentctl trust",
            "",
            "| Agent | Scope | Runs | Clean | Wilson lower bound | Decision | Clean runs to go |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in trust.scopes:
            lines.append(
                f"| {s.agent} | `{s.scope}` | {s.n} | {s.successes} | {s.lower_bound:.2f} (need {s.threshold:.2f}) | "
                f"{s.decision} | {s.runs_needed if s.runs_needed is not None else '-'} |"
            )
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        if not trust.scopes:
            sys.stderr.write("no finished runs recorded yet\n")
        for s in trust.scopes:
            to_go = f", {s.runs_needed} more clean runs needed" if s.runs_needed else ""
            sys.stdout.write(
                f"{s.agent:<8} {s.scope:<20} {s.successes}/{s.n} clean  lower bound {s.lower_bound:.3f} "
                f"(threshold {s.threshold:.2f} at {s.confidence:.0%}, min {s.min_runs} runs)  {s.decision}{to_go}\n"
            )
            for demotion in s.demotions[:10]:
                sys.stdout.write(f"    demoted by {demotion['run']}: {demotion['reason']}\n")
    return int(ExitCode.PASSED)


def decide(agent: str, paths: list[str]) -> int:
    from agentctl.pipeline.trust import decide as decide_paths

    decision, scope = decide_paths(Path.cwd(), agent, paths)
    detail = (
        f" in scope {scope.scope} ({scope.successes}/{scope.n}, lower bound {scope.lower_bound:.3f})" if scope else ""
    )
    sys.stdout.write(f"{decision}\n")
    sys.stderr.write(f"{agent}: {decision}{detail}\n")
    return int(ExitCode.PASSED if decision == "autonomous" else ExitCode.APPROVAL_REQUIRED)


def verify(statement: Path, key: Path, commit: str | None) -> int:
    from agentctl.attest.intoto import AttestError
    from agentctl.attest.intoto import verify as verify_statement
    from agentctl.pipeline.trust import head, repo_root

    expected = commit
    if expected is None:
        try:
            expected = head(repo_root(Path.cwd()))
        except Exception:
            expected = None
    try:
        stmt = verify_statement(statement.read_text(encoding="utf-8"), key, expected)
    except OSError as exc:
        raise UsageError(f"cannot read {statement}: {exc.strerror}", "pass the statement file") from None
    except AttestError as exc:
        sys.stderr.write(f"agentctl: verification FAILED: {exc.message}\n")
        return int(ExitCode.BLOCKED)
    subject = stmt["subject"][0]
    sys.stderr.write(f"verified: {stmt['predicateType']} for {subject['name']}@{subject['digest']['gitCommit'][:12]}\n")
    return int(ExitCode.PASSED)
