"""``agentctl run`` end to end: record the agent's run, then check the diff it left.

The post-run check is exactly ``agentctl check --diff <commit the run started
from>`` (working tree, untracked files included); its findings become part of
the run record and of the exit code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.exitcodes import ExitCode
from agentctl.model.run import RunStatus
from agentctl.policy import default_dirs
from agentctl.runner.limits import Limits
from agentctl.runner.pricing import PriceTable
from agentctl.runner.supervisor import RunRequest, RunResult, Supervisor, View
from agentctl.sources import gitcli
from agentctl.store.sqlite import RunRecord, Store, default_path

if TYPE_CHECKING:  # the check's model (pydantic) is imported only once the agent has finished
    from agentctl.model.finding import CheckResult
    from agentctl.sandbox import Backend, Profile


@dataclass
class RunOptions:
    argv: list[str]
    agent: str | None = None
    limits: Limits = field(default_factory=Limits)
    prices: PriceTable = field(default_factory=PriceTable)
    cwd: Path = field(default_factory=Path.cwd)
    check: bool = True
    fail_on: str = "high"
    """Severity name; validated by the CLI, converted only when the post-run check runs."""
    policy_dirs: list[Path] = field(default_factory=list)
    grace: float = 5.0
    gate: bool = True
    interactive: bool = False
    sandbox: str = "auto"
    """``auto`` (bwrap on Linux), ``bwrap`` or ``off``."""
    allow_credentials: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    gateway: bool = True
    upstream: str | None = None


@dataclass
class RunOutcome:
    record: RunRecord
    exit_code: int
    check: CheckResult | None
    unsent: Path | None = None
    """The server store did not take the whole run: the local spool file that holds it (see ``runs import``)."""
    store_problem: str | None = None
    store_location: str | None = None


def git_state(cwd: Path) -> tuple[Path | None, str | None]:
    """Repository root and HEAD commit (``None`` outside git or before the first commit)."""
    root = gitcli.toplevel(cwd)
    return (root, gitcli.head(root)) if root is not None else (None, None)


def open_store(cwd: Path) -> Store:
    root, _ = git_state(cwd)
    store = Store(default_path(root or cwd))
    store.mark_orphans()
    return store


def execute(options: RunOptions, view: View) -> RunOutcome:
    from agentctl import sandbox
    from agentctl.agents.registry import detect

    adapter = detect(options.argv, options.agent)
    backend = sandbox.select(options.sandbox)  # fail closed before anything is recorded
    repo_root, base_commit = git_state(options.cwd)
    from agentctl.export.otlp import endpoint_configured

    if endpoint_configured():
        from agentctl.pipeline.export import warm_up

        warm_up()
    store = open_run_store(repo_root or options.cwd)
    outcome: RunOutcome | None = None
    policy_dirs = options.policy_dirs or default_dirs(repo_root or options.cwd)
    try:
        store.sealer(create=True)  # the key exists before the protected set is fingerprinted
        profile = _profile(options, repo_root or options.cwd, policy_dirs)
        if backend is not None:
            backend.prepare(profile)  # before the run starts: its placeholders are part of the start state
        store.mark_orphans()
        request = RunRequest(
            argv=options.argv,
            adapter=adapter,
            limits=options.limits,
            prices=options.prices,
            cwd=options.cwd,
            repo_root=repo_root,
            base_commit=base_commit,
            store=store,
            view=view,
            env=dict(options.env),
            grace=options.grace,
            gate=options.gate,
            interactive=options.interactive,
            policy_dirs=policy_dirs,
            sandbox=backend,
            profile=profile,
            sandbox_label=sandbox_label(backend, profile),
            gateway=options.gateway,
            upstream=options.upstream,
            capture_content=_capture_content(),
        )
        try:
            result = Supervisor(request).run()
        finally:
            if backend is not None:
                backend.cleanup()
        check = None
        if options.check and repo_root is not None and not result.interrupted:
            check = _post_run_check(options, repo_root, base_commit)
            store.update_run(
                result.record.id,
                verdict=check.verdict(_severity(options.fail_on)).value,
                findings=[
                    {
                        "rule_id": f.rule_id,
                        "severity": f.severity.value,
                        "action": f.action.value,
                        "path": f.location.path,
                        "line": f.location.start_line,
                        "address": f.address,
                        "message": f.message,
                        "status": f.status.value,
                    }
                    for f in check.findings
                ],
            )
        if repo_root is not None:
            changed, end_commit = _changes(repo_root, base_commit)
            store.update_run(result.record.id, changed_paths=changed, end_commit=end_commit)
        approved = _approved(store, result.record.id, check)
        code = exit_code(result, check, options.fail_on, approved)
        store.update_run(result.record.id, exit_code=code)
        from agentctl.pipeline.export import auto_export

        auto_export(store, result.record.id)
        record = store.get_run(result.record.id)
        view.finished(record)
        outcome = RunOutcome(record, code, check)
        return outcome
    finally:
        if backend is not None:
            backend.cleanup()  # idempotent: also after a failed prepare
        store.close()
        _spool_end(store, outcome)


def open_run_store(root: Path) -> Store:
    """Where ``agentctl run`` records: the SQLite store, or for a server store a local spool mirrored to it."""
    from agentctl.store.location import configured_url

    url = configured_url()
    path = default_path(root)
    if url is None:
        return Store(path)
    from agentctl.store.spool import SpooledStore

    return SpooledStore(path.parent, url)


def _spool_end(store: Store, outcome: RunOutcome | None) -> None:
    """Delete the spool when the server took everything; otherwise name it in the outcome."""
    from agentctl.store.spool import SpooledStore

    if not isinstance(store, SpooledStore):
        return
    kept = store.finish(outcome.record.id if outcome else None)
    if kept is not None and outcome is not None:
        outcome.unsent, outcome.store_problem, outcome.store_location = kept, store.mirror.error, store.mirror.location


def _approved(store: Store, run_id: str, check: CheckResult | None) -> bool:
    """Every finding needing approval is cleared by a believed approval bound to it (the gate's prompt)."""
    from agentctl.trust.approvals import all_approved

    if check is None:
        return False
    integrity = store.verify(run_id)
    record = store.get_run(run_id)
    return integrity.ok and all_approved(record.verdict, record.findings, integrity.approvals)


def _profile(options: RunOptions, root: Path, policy_dirs: list[Path]) -> Profile:
    """The sandbox profile: the protected set, ``agentctl.yaml``'s additions, the allowed credentials."""
    from agentctl.sandbox.profile import build

    extra_paths: tuple[str, ...] = ()
    extra_hidden: tuple[str, ...] = ()
    if (root / "agentctl.yaml").is_file():  # pydantic only when there is a file to validate
        from agentctl import config

        protect = config.load(root)[0].protect
        extra_paths, extra_hidden = protect.paths, protect.hidden
    return build(
        root,
        options.cwd,
        policy_dirs,
        options.env,
        extra_paths=extra_paths,
        extra_hidden=extra_hidden,
        allow_credentials=options.allow_credentials,
    )


def sandbox_label(backend: Backend | None, profile: Profile) -> str:
    """The run record's ``sandbox`` field: ``off``, or the backend with any credentials let in."""
    if backend is None:
        return "off"
    allowed = ",".join(profile.allow_credentials)
    return backend.name + (f" credentials={allowed}" if allowed else "")


def _capture_content() -> bool:
    from agentctl.export.otlp import capture_content_default

    return capture_content_default()


def _severity(name: str) -> Any:
    from agentctl.model.common import Severity

    return Severity(name)


def _changes(repo_root: Path, base_commit: str | None) -> tuple[list[str], str | None]:
    """Files the run changed (committed, staged, working tree, untracked) and HEAD at its end."""
    from agentctl.sources.gitrepo import GitRepo, Side

    repo = GitRepo(repo_root)
    base = repo.commit(base_commit) if base_commit else repo.head_or_empty()
    changed = repo.changed_paths(base, Side("worktree", label="working tree"))
    return [p for p in changed if not p.startswith(".agentctl/")], gitcli.head(repo_root)


def _post_run_check(options: RunOptions, repo_root: Path, base_commit: str | None) -> CheckResult:
    from agentctl.pipeline.check import CheckOptions, run_check
    from agentctl.sources.loader import default_cache_dir

    policy_dirs = options.policy_dirs or default_dirs(repo_root)
    check_options = CheckOptions(
        paths=[] if base_commit else [repo_root],
        diff=base_commit,
        policy_dirs=policy_dirs,
        cache_dir=default_cache_dir(),
        cwd=repo_root,
    )
    return run_check(check_options)


def exit_code(result: RunResult, check: CheckResult | None, fail_on: str, approved: bool = False) -> int:
    """PRODUCT.md's exit codes; ``approved``: a person approved this run's calls at the gate."""
    status = RunStatus(result.record.status)
    if status is RunStatus.INTERRUPTED:
        return ExitCode.INTERRUPTED
    if status is RunStatus.BUDGET_EXHAUSTED:
        return ExitCode.BUDGET_EXHAUSTED
    if status is RunStatus.BREAKER_TRIPPED:
        return ExitCode.BREAKER_TRIPPED
    if status in (RunStatus.AGENT_FAILED, RunStatus.GATE_FAILED, RunStatus.GATE_BYPASSED, RunStatus.TAMPER_DETECTED):
        return ExitCode.AGENT_FAILED
    if check is not None:
        verdict = check.verdict(_severity(fail_on)).value
        if verdict == "blocked":
            return ExitCode.BLOCKED
        if verdict == "approval_required" and not approved:
            return ExitCode.APPROVAL_REQUIRED
    return ExitCode.PASSED
