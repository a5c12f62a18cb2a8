"""Wiring of ``agentctl check``: flags → pipeline → reports → exit code."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from agentctl.cli.main import UsageError
from agentctl.exitcodes import ExitCode
from agentctl.model.common import Severity
from agentctl.model.finding import CheckResult, FindingStatus, Verdict
from agentctl.reports.base import Format, ReportContext

_VERDICT_EXIT = {
    Verdict.PASSED: ExitCode.PASSED,
    Verdict.BLOCKED: ExitCode.BLOCKED,
    Verdict.APPROVAL_REQUIRED: ExitCode.APPROVAL_REQUIRED,
}


@dataclass
class CheckArgs:
    paths: list[Path] = field(default_factory=list)
    diff: str | None = None
    staged: bool = False
    include_all: bool = False
    policies: list[Path] | None = None
    builtin: bool = True
    formats: list[str] = field(default_factory=list)
    fail_on: str = "high"
    cache: bool = True
    quiet: bool = False


def parse_formats(specs: list[str]) -> list[tuple[Format, Path | None]]:
    parsed: list[tuple[Format, Path | None]] = []
    for spec in specs or ["table"]:
        name, _, target = spec.partition("=")
        try:
            fmt = Format(name.strip().lower())
        except ValueError:
            raise UsageError(
                f"unknown format '{name}'", f"choose one of: {', '.join(f.value for f in Format)} (NAME or NAME=FILE)"
            ) from None
        parsed.append((fmt, Path(target) if target else None))
    to_stdout = [fmt for fmt, target in parsed if target is None]
    if len(to_stdout) > 1:
        raise UsageError(
            f"several formats write to stdout ({', '.join(f.value for f in to_stdout)})",
            "send all but one to a file with NAME=FILE",
        )
    return parsed


def parse_severity(value: str) -> Severity:
    try:
        return Severity(value.lower())
    except ValueError:
        raise UsageError(
            f"unknown severity '{value}' for --fail-on", "use one of: info, low, medium, high, critical"
        ) from None


def check(args: CheckArgs) -> int:
    from agentctl.pipeline.check import CheckOptions, run_check
    from agentctl.policy import default_dirs
    from agentctl.sources.loader import default_cache_dir

    outputs = parse_formats(args.formats)
    fail_on = parse_severity(args.fail_on)
    if args.diff is not None and args.staged:
        raise UsageError("--diff and --staged exclude each other", "use --staged in pre-commit, --diff BASE in CI")
    if args.include_all and args.diff is None and not args.staged:
        raise UsageError(
            "--all only makes sense with --diff or --staged", "without a diff every finding is reported anyway"
        )
    cwd = Path.cwd()
    options = CheckOptions(
        paths=list(args.paths),
        diff=args.diff,
        staged=args.staged,
        include_all=args.include_all,
        policy_dirs=list(args.policies) if args.policies else default_dirs(cwd),
        builtin=args.builtin,
        cache_dir=default_cache_dir() if args.cache else None,
        cwd=cwd,
    )
    if not options.builtin and not options.policy_dirs:
        raise UsageError("no rules to check against", "drop --no-builtin or pass --policies DIR")
    result = run_check(options)

    if not args.include_all:
        result = result.model_copy(
            update={"findings": tuple(f for f in result.findings if f.status is not FindingStatus.BASELINE)}
        )
    code = _VERDICT_EXIT[result.verdict(fail_on)]
    context = ReportContext(result=result, fail_on=fail_on, exit_code=int(code))
    if all(target is not None for _, target in outputs):
        outputs.append((Format.TABLE, None))
    for fmt, target in outputs:
        _emit(fmt, target, context)
    if not args.quiet:
        sys.stderr.write(summary(result, context) + "\n")
        if code is ExitCode.APPROVAL_REQUIRED:
            sys.stderr.write(approval_hint(args.staged) + "\n")
    return int(code)


def approval_hint(staged: bool) -> str:
    """The next step when nothing blocks but a human must say yes (exit 3)."""
    if staged:
        return (
            "hint: nothing blocks, but a human must approve these changes. If you accept them, commit with "
            "SKIP=agentctl-check git commit …; the pull request's check asks its reviewers again. "
            "A change made by agentctl run is approved with: agentctl approve RUN-ID --reason TEXT"
        )
    return (
        "hint: nothing blocks, but a human must approve these changes: in a pull request its reviewers do; "
        "a change made by agentctl run is approved with: agentctl approve RUN-ID --reason TEXT"
    )


def _emit(fmt: Format, target: Path | None, context: ReportContext) -> None:
    from agentctl.reports.registry import formatter

    color = target is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    width = os.get_terminal_size().columns if color else None
    text = formatter(fmt, color=color, width=width).render(context)
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise UsageError(f"cannot write {fmt.value} report to {target}: {exc.strerror}", "check the path") from None


def summary(result: CheckResult, context: ReportContext) -> str:
    counts: dict[str, int] = {}
    for finding in result.findings:
        outcome = context.outcome(finding)
        counts[outcome] = counts.get(outcome, 0) + 1
    parts = [f"{counts[k]} {k}" for k in ("blocking", "approval", "warning", "suppressed", "baseline") if counts.get(k)]
    scope = f" in {result.diff}" if result.diff else ""
    verdict = {"passed": "passed", "blocked": "BLOCKED", "approval_required": "APPROVAL REQUIRED"}[
        context.verdict.value
    ]
    detail = ", ".join(parts) if parts else "no findings"
    skipped = f", {len(result.notes)} skipped" if result.notes else ""
    return (
        f"agentctl check{scope}: {verdict} — {detail} "
        f"({result.files_scanned} files{skipped}, {result.resources_evaluated} resources, {result.rules_loaded} rules)"
    )


def list_rules(policies: list[Path] | None, builtin: bool, fmt: str) -> int:
    from agentctl.pipeline.check import CheckOptions
    from agentctl.pipeline.check import list_rules as collect
    from agentctl.policy import default_dirs
    from agentctl.reports import rules as render

    renderers = {"table": render.table, "json": render.as_json, "markdown": render.markdown}
    if fmt not in renderers:
        raise UsageError(f"unknown format '{fmt}' for rules", "choose one of: table, json, markdown")
    cwd = Path.cwd()
    options = CheckOptions(policy_dirs=list(policies) if policies else default_dirs(cwd), builtin=builtin, cwd=cwd)
    infos = collect(options)
    sys.stdout.write(renderers[fmt](list(infos)))
    return int(ExitCode.PASSED)
