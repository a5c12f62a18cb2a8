"""Wiring of ``agentctl run`` and ``agentctl runs list|show``."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.cli.main import UsageError
from agentctl.exitcodes import ExitCode


@dataclass
class RunArgs:
    argv: list[str]
    agent: str | None = None
    max_usd: float | None = None
    max_tokens: int | None = None
    max_turns: int | None = None
    max_tool_calls: int | None = None
    timeout: str | None = None
    idle_timeout: str | None = None
    max_repeats: int = 5
    max_errors: int = 5
    prices: list[str] = field(default_factory=list)
    json_output: bool = False
    check: bool = True
    fail_on: str = "high"
    policies: list[Path] = field(default_factory=list)
    grace: float = 5.0
    quiet: bool = False
    gate: bool = True
    sandbox: str = "auto"
    allow_credentials: list[str] = field(default_factory=list)
    gateway: bool = True
    upstream: str | None = None


def run(args: RunArgs) -> int:
    from agentctl.pipeline.run import RunOptions, execute
    from agentctl.runner.limits import Limits, parse_duration
    from agentctl.runner.pricing import PriceTable, parse_price
    from agentctl.runner.view import LiveView, PlainView

    try:
        limits = Limits(
            max_usd=args.max_usd,
            max_tokens=args.max_tokens,
            max_turns=args.max_turns,
            max_tool_calls=args.max_tool_calls,
            timeout=parse_duration(args.timeout) if args.timeout else None,
            idle_timeout=parse_duration(args.idle_timeout) if args.idle_timeout else None,
            max_repeats=args.max_repeats,
            max_errors=args.max_errors,
        )
        prices = PriceTable(dict(parse_price(spec) for spec in args.prices))
    except ValueError as exc:
        raise UsageError(str(exc), "see agentctl run --help") from None
    allow_credentials = _credential_kinds(args.allow_credentials)
    if args.sandbox not in ("auto", "bwrap", "off"):
        raise UsageError(f"unknown --sandbox '{args.sandbox}'", "use one of: auto, bwrap, off")
    if args.max_repeats < 2 or args.max_errors < 1:
        raise UsageError("--max-repeats must be at least 2 and --max-errors at least 1", "the defaults are 5 and 5")
    options = RunOptions(
        argv=args.argv,
        agent=args.agent,
        limits=limits,
        prices=prices,
        cwd=Path.cwd(),
        check=args.check,
        fail_on=_severity_name(args.fail_on),
        policy_dirs=list(args.policies),
        grace=args.grace,
        gate=args.gate,
        gateway=args.gateway,
        upstream=args.upstream,
        interactive=sys.stdin.isatty() and sys.stderr.isatty(),
        sandbox=args.sandbox,
        allow_credentials=allow_credentials,
    )
    interactive = sys.stderr.isatty() and not args.quiet and "NO_COLOR" not in os.environ
    view = LiveView(limits) if interactive else PlainView(limits, quiet=args.quiet)
    try:
        outcome = execute(options, view)
    except FileNotFoundError as exc:
        raise UsageError(
            f"cannot start the agent: {exc.filename or args.argv[0]} not found",
            "install it (npm i -g @anthropic-ai/claude-code, or npm i -g @openai/codex) or give its full path",
        ) from None
    record = outcome.record
    if args.json_output:
        sys.stdout.write(json.dumps(summary(record, outcome.check), indent=2) + "\n")
    elif not args.quiet:
        _print_summary(record, outcome.check)
    if outcome.unsent is not None:
        from agentctl.store.errors import StoreError

        raise StoreError(
            f"the run store {outcome.store_location} did not take run {record.id} ({outcome.store_problem});"
            f" it is recorded locally in {_shown(outcome.unsent)} (the run itself: exit {outcome.exit_code})",
            f"when the store is reachable again: agentctl runs import {_shown(outcome.unsent)}",
        )
    return outcome.exit_code


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (what the user types next)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def summary(record: Any, check: Any) -> dict[str, Any]:
    return {
        "schema": "agentctl/run-summary",
        "version": 1,
        "run_id": record.id,
        "agent": record.agent,
        "model": record.model,
        "session_id": record.session_id,
        "command": record.command,
        "status": record.status,
        "stop_reason": record.stop_reason,
        "exit_code": record.exit_code,
        "duration_s": round(record.duration or 0.0, 3),
        "turns": record.turns,
        "tool_calls": record.tool_calls,
        "tool_errors": record.tool_errors,
        "usage": {
            "input_tokens": record.input_tokens,
            "output_tokens": record.output_tokens,
            "cache_read_tokens": record.cache_read_tokens,
            "cache_write_tokens": record.cache_write_tokens,
        },
        "cost_usd": record.cost_usd,
        "cost_source": record.cost_source,
        "limits": record.limits,
        "sandbox": record.sandbox,
        "check": {"verdict": record.verdict, "findings": record.findings} if check is not None else None,
    }


def _print_summary(record: Any, check: Any) -> None:
    lines = [
        f"agentctl run {record.id}: {record.status}" + (f" — {record.stop_reason}" if record.stop_reason else ""),
        f"  {record.turns} turns · {record.tool_calls} tool calls ({record.tool_errors} failed) · "
        f"{record.tokens:,} tokens · ${record.cost_usd:.4f} ({record.cost_source}) · {record.duration or 0:.1f}s",
    ]
    if check is not None:
        active = [f for f in record.findings if f.get("status") == "open"]
        lines.append(f"  post-run check: {record.verdict} ({len(active)} findings)")
        lines += [
            f"    {f['severity']:<8} {f['rule_id']}  {f['path']}:{f['line']}  {f['message']}" for f in active[:20]
        ]
    sys.stderr.write("\n".join(lines) + "\n")


def runs_list(limit: int, json_output: bool, all_repos: bool = False) -> int:
    from agentctl.pipeline.run import git_state, open_store
    from agentctl.store.sqlite import default_path

    root, _ = git_state(Path.cwd())
    path = default_path(root or Path.cwd())
    if "://" not in str(os.environ.get("AGENTCTL_STORE", "")) and not path.exists():
        # Listing never creates a store (nor .agentctl/, least of all outside a repository).
        if json_output:
            sys.stdout.write("[]\n")
        else:
            sys.stderr.write(f"no runs recorded (no run store at {path}; agentctl run creates it)\n")
        return int(ExitCode.PASSED)
    store = open_store(Path.cwd())
    from agentctl.store.sqlite import current_repo

    records = store.list_runs(limit, None if all_repos else current_repo(root or Path.cwd()))
    if json_output:
        sys.stdout.write(json.dumps([summary(r, r.findings or None) for r in records], indent=2) + "\n")
        return int(ExitCode.PASSED)
    if not records:
        sys.stderr.write(f"no runs recorded in {store.path}\n")
        return int(ExitCode.PASSED)
    header = (
        "ID",
        "AGENT",
        "MODEL",
        "STATUS",
        "SANDBOX",
        "TURNS",
        "TOOLS",
        "TOKENS",
        "COST",
        "DURATION",
        "FINDINGS",
        "STARTED",
    )
    rows = [
        (
            r.id,
            r.agent,
            r.model or "-",
            r.status,
            (r.sandbox or "-").split()[0],
            str(r.turns),
            str(r.tool_calls),
            f"{r.tokens:,}",
            f"${r.cost_usd:.4f}",
            f"{r.duration:.1f}s" if r.duration is not None else "-",
            str(len([f for f in r.findings if f.get("status") == "open"])) if r.verdict else "-",
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started_at)),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
    return int(ExitCode.PASSED)


def runs_show(ident: str, json_output: bool) -> int:
    from agentctl.pipeline.run import open_store
    from agentctl.runner.tree import render_tree

    store = open_store(Path.cwd())
    record = store.get_run(ident)
    events = list(store.events(record.id))
    check = store.verify(record.id)
    if json_output:
        document = {"run": summary(record, record.findings or None), "events": events, "record": check.as_dict()}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(f"record: {check.summary()}\n")
        for problem in check.problems if check.state == "failed" else []:
            sys.stdout.write(f"  ✗ {problem}\n")
        sys.stdout.write(render_tree(record, events))
    return int(ExitCode.PASSED)


def export(run_ids: list[str], pending: bool, capture_content: bool, json_output: bool) -> int:
    from agentctl.export import otlp
    from agentctl.pipeline.export import export_runs
    from agentctl.pipeline.run import open_store

    if not run_ids and not pending:
        raise UsageError("nothing to export", "name run ids, or pass --pending for every run not delivered yet")
    if not otlp.endpoint_configured():
        raise UsageError(
            "no OTLP endpoint configured", "set OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)"
        )
    store = open_store(Path.cwd())
    runs = [store.get_run(i) for i in run_ids]
    if pending:
        runs += [r for r in store.pending_exports(10_000) if r.id not in {x.id for x in runs}]
    deliveries = export_runs(store, runs, capture_content=capture_content or otlp.capture_content_default())
    delivered = [d for d in deliveries if d.delivered]
    if json_output:
        sys.stdout.write(json.dumps([vars(d) for d in deliveries], indent=2) + "\n")
    for delivery in deliveries:
        state = "delivered" if delivery.delivered else "NOT delivered (stays pending)"
        sys.stderr.write(f"{delivery.run_id}: {delivery.spans} spans {state} in {delivery.seconds:.2f}s\n")
    if len(delivered) < len(runs):
        raise UsageError(
            f"{len(runs) - len(delivered)} of {len(runs)} runs not delivered: the collector did not accept them",
            "check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is up; agentctl export --pending retries",
        )
    if not runs:
        sys.stderr.write("nothing pending\n")
    return int(ExitCode.PASSED)


def runs_verdict(ident: str, all_repos: bool = False) -> int:
    """After ``agentctl approve``, a run whose only problem was a pending approval passes.

    Only records that verify are believed: a run whose record fails verification
    is blocked, and only approvals whose MAC checks out, each bound to the
    finding it approves, clear a finding.
    """
    from agentctl.pipeline.run import open_store
    from agentctl.store.location import current_repo
    from agentctl.trust.approvals import all_approved, label, uncovered

    store = open_store(Path.cwd())
    try:
        record = store.get_run(ident, None if all_repos else current_repo(Path.cwd()))
        check = store.verify(record.id)
    finally:
        store.close()
    believed = check.approvals
    refused = [a for a in believed if a["decision"] == "deny"]
    approved = [a for a in believed if a["decision"] == "approve"]
    if check.state == "failed":
        verdict, code = f"not believed: the run's record {check.summary()}", int(ExitCode.BLOCKED)
    elif record.status != "completed" and record.exit_code not in (1, 3):
        verdict, code = f"run {record.status}", record.exit_code or int(ExitCode.AGENT_FAILED)
    elif refused:
        verdict, code = f"refused by {refused[-1]['approver']}: {refused[-1]['reason']}", int(ExitCode.BLOCKED)
    elif record.verdict == "blocked":
        verdict, code = "blocked", int(ExitCode.BLOCKED)
    elif all_approved(record.verdict, record.findings, believed):
        who = ", ".join(sorted({f"{a['approver']}: {a['reason']}" for a in approved}))
        verdict, code = f"approved by {who}", int(ExitCode.PASSED)
    elif record.verdict == "approval_required":
        waiting = ", ".join(label(f) for f in uncovered(record.findings, believed)) or "the run"
        verdict = f'approval required for {waiting}: agentctl approve {record.id} --reason "…"'
        code = int(ExitCode.APPROVAL_REQUIRED)
    elif check.state == "legacy" and not approved:
        verdict = f'unverified (legacy) record, not believed on its own: agentctl approve {record.id} --reason "…"'
        code = int(ExitCode.APPROVAL_REQUIRED)
    else:
        verdict, code = record.verdict or "passed", int(ExitCode.PASSED)
    if check.state == "legacy":
        sys.stderr.write(f"agentctl: run {record.id}: {check.summary()}\n")
    sys.stdout.write(verdict + "\n")
    return code


def _credential_kinds(values: list[str]) -> list[str]:
    """``--allow-credentials aws,kube`` (repeatable) → validated kinds."""
    from agentctl.protect import CREDENTIAL_KINDS

    kinds = sorted({k.strip().lower() for v in values for k in v.split(",") if k.strip()})
    unknown = [k for k in kinds if k not in CREDENTIAL_KINDS]
    if unknown:
        raise UsageError(
            f"unknown credential kind '{unknown[0]}' for --allow-credentials", "use: " + ", ".join(CREDENTIAL_KINDS)
        )
    return kinds


def _severity_name(value: str) -> str:
    """Validated without importing the check's model: the agent should start at once."""
    names = ("info", "low", "medium", "high", "critical")
    if value.lower() not in names:
        raise UsageError(f"unknown severity '{value}' for --fail-on", "use one of: " + ", ".join(names))
    return value.lower()
