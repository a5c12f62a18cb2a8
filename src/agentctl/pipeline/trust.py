"""``agentctl trust``, ``trust decide`` and ``approve``: evidence from the run store and git."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl import config as config_module
from agentctl import identity
from agentctl.attest import intoto
from agentctl.errors import AgentctlError
from agentctl.sources import gitcli
from agentctl.store import integrity
from agentctl.store.integrity import FAILED, LEGACY, VERIFIED, Integrity
from agentctl.store.sqlite import Store, current_repo, default_path
from agentctl.trust.evidence import ScopeTrust, evaluate, in_scope, reverted_commits

if TYPE_CHECKING:
    from agentctl.store.history import Evidence

PREDICATE_TYPE = "https://agentctl.dev/attestations/trust/v1"


@dataclass
class TrustReport:
    root: Path
    commit: str | None
    scopes: list[ScopeTrust]
    inputs: dict[str, Any]
    records: dict[str, Integrity] = field(default_factory=dict)
    """Verification of every run considered (see :mod:`agentctl.store.integrity`)."""
    config_differs: bool = False
    """The working tree's ``agentctl.yaml`` differs from HEAD's (trust used HEAD's)."""
    history: list[str] = field(default_factory=list)
    """Problems with the run history as a whole (runs deleted); any one means no autonomy."""
    vouched: int = 0
    """Clean runs counted in the store, whose records the verified checkpoint vouches for (not in ``records``)."""

    def predicate(self) -> dict[str, Any]:
        return {
            "version": 1,
            "scopes": [s.as_dict() for s in self.scopes],
            "inputs": self.inputs,
            "records": record_summary(self.records, self.vouched),
            "config": {"source": "HEAD", "working_tree_differs": self.config_differs},
            "history": {"verified": not self.history, "problems": self.history},
        }

    def notes(self) -> list[str]:
        """What the person reading the report must know: uncounted records, an ignored config edit."""
        out = [f"run history tampered with: {problem}" for problem in self.history]
        if self.history:
            out.append("no scope is autonomous until the store is investigated (decisions capped at supervised)")
        if self.config_differs:
            out.append(
                f"{config_module.CONFIG_NAME} in the working tree differs from HEAD: "
                "trust settings are read from the committed version (commit the change to apply it)"
            )
        for run_id, check in sorted(self.records.items()):
            if check.state == FAILED:
                out.append(f"run {run_id} not counted as clean: record {check.summary()}")
        legacy = [run_id for run_id, check in self.records.items() if check.state == LEGACY]
        if legacy:
            out.append(f"{len(legacy)} run(s) unverified (legacy, recorded before sealing): never counted as clean")
        return out


def record_summary(records: dict[str, Integrity], vouched: int = 0) -> dict[str, Any]:
    return {
        "verified": vouched + sum(1 for c in records.values() if c.state == VERIFIED),
        "legacy": sorted(r for r, c in records.items() if c.state == LEGACY),
        "failed": [{"run": r, "problems": c.problems} for r, c in sorted(records.items()) if c.state == FAILED],
    }


def repo_root(cwd: Path) -> Path:
    root = gitcli.toplevel(cwd)
    if root is None:
        raise AgentctlError(
            f"{cwd} is not inside a git repository", "run agentctl in the repository the runs were made in"
        )
    return root


def report(cwd: Path, all_repos: bool = False, detail: bool = True) -> TrustReport:
    """Trust from this repository's runs (``all_repos``: every repository's in a shared store).

    ``detail``: every run read and listed (the JSON and in-toto reports name each run and digest its
    inputs); without it, runs that are plainly clean are counted by the store and only the rest read.
    """
    root = repo_root(cwd)
    reverted = reverted_commits(root)
    # The store is read (its queries running in the database) while the committed configuration is parsed here.
    reading = _StoreRead(root, all_repos, commits_matter=bool(reverted), grouped=not detail)
    try:
        config, config_text, differs = config_module.load_committed(root)
    except BaseException:
        reading.wait()  # a configuration error is reported first, as before, once the store is closed
        raise
    evidence = reading.result()
    runs, records, history = evidence.runs, evidence.records, evidence.history
    approvals = [a for check in records.values() for a in check.approvals]
    scopes = evaluate(root, runs, approvals, config.trust, records, groups=evidence.groups, reverted=reverted)
    if history:  # fail closed: a history with runs missing proves nothing
        for scope in scopes:
            if scope.decision == "autonomous":
                scope.decision = "supervised"
    # The digests of the runs judged: what --format json/intoto attest to (without ``detail`` nothing reads them).
    used = sorted({run_id for s in scopes for run_id in s.run_ids}) if detail else []
    by_id = {r.id: r for r in runs}
    inputs = {
        "config": intoto.digest(config_text),
        "runs": {
            run_id: intoto.digest(
                intoto.canonical(
                    {
                        "status": by_id[run_id].status,
                        "verdict": by_id[run_id].verdict,
                        "findings": by_id[run_id].findings,
                        "changed_paths": by_id[run_id].changed_paths,
                        "approvals": [
                            {k: a[k] for k in ("approver", "decision", "reason", "at", "target", "covers")}
                            for a in records[run_id].approvals
                        ],
                        "record": records[run_id].state,
                    }
                )
            )
            for run_id in used
        },
    }
    return TrustReport(root, gitcli.head(root), scopes, inputs, records, differs, history, evidence.vouched)


class _StoreRead:
    """``store_history.read`` in a thread of its own: the store is opened, used and closed there (SQLite's
    connection belongs to the thread that made it); its error, if any, is raised by :meth:`result`."""

    def __init__(self, root: Path, all_repos: bool, *, commits_matter: bool, grouped: bool) -> None:
        self._args = (root, all_repos, commits_matter, grouped)
        self._evidence: Evidence | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="agentctl-trust-store", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from agentctl.store import history as store_history

        root, all_repos, commits_matter, grouped = self._args
        try:
            store = Store(default_path(root))
            try:
                store.mark_orphans()
                repo = None if all_repos else current_repo(root)
                self._evidence = store_history.read(store, repo, commits_matter=commits_matter, grouped=grouped)
            finally:
                store.close()
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> Evidence:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._evidence is not None
        return self._evidence


def decide(cwd: Path, agent: str, paths: list[str]) -> tuple[str, ScopeTrust | None, list[str]]:
    """The decision for an agent touching these paths (the first scope that holds them all), and notes."""
    trust = report(cwd, detail=False)
    notes = trust.notes()
    for scope in trust.scopes:
        if scope.agent == agent and in_scope(paths, scope.paths):
            return scope.decision, scope, notes
    return "insufficient-data", None, notes


def attest(trust: TrustReport, key: Path | None) -> tuple[str, bool]:
    if trust.commit is None:
        raise AgentctlError("the repository has no commit to attest", "commit first")
    subject = f"git+file://{trust.root.name}"
    stmt = intoto.statement(subject, trust.commit, PREDICATE_TYPE, trust.predicate())
    env, signed = intoto.envelope(stmt, key)
    return json.dumps(env, indent=2) + "\n", signed


def refuse_inside_run(store_path: Path) -> None:
    """``agentctl approve`` is a human's act outside the run: never the agent's, from inside it."""
    for variable in ("AGENTCTL_RUN_ID", "AGENTCTL_GATE_SOCKET"):
        if os.environ.get(variable):
            raise AgentctlError(
                f"agentctl approve refuses to run inside an agent's run ({variable} is set): "
                "an agent cannot approve its own work",
                "a person approves from their own terminal, outside `agentctl run`",
            )
    key = integrity.key_path(store_path)
    for path, what in ((store_path, "the run store"), (store_path.parent, "the store's directory")):
        if path.exists() and not os.access(path, os.W_OK):
            raise AgentctlError(
                f"agentctl approve refuses: {what} {path} is not writable here (inside a sandboxed run?)",
                "a person approves from their own terminal, outside `agentctl run`",
            )
    if key.exists() and not os.access(key, os.R_OK):
        raise AgentctlError(
            f"agentctl approve refuses: the store key {key} is not readable here (inside a sandboxed run?)",
            "a person approves from their own terminal, outside `agentctl run`",
        )


def approve(cwd: Path, run_id: str, reason: str, deny: bool, finding_specs: list[str] | None = None) -> dict[str, Any]:
    """Record a person's approval (or refusal), bound to the run and to each finding it approves."""
    from agentctl.trust import approvals as binding

    if not reason.strip():
        raise AgentctlError("an approval needs a reason", 'agentctl approve ID --reason "why this is fine"')
    root = repo_root(cwd)
    path = default_path(root)
    refuse_inside_run(path)
    store = Store(path)
    try:
        run = store.get_run(run_id)
        approver = identity.current(root)
        if identity.in_ci() and run.started_by and approver == run.started_by:
            raise AgentctlError(
                f"{approver} started run {run.id} and cannot approve it in CI",
                "a second person must approve (four-eyes)",
            )
        check = store.verify(run.id)
        if check.state == FAILED and not deny:
            raise AgentctlError(
                f"run {run.id}'s record {check.summary()}; an approval of it would not be believed",
                "find out who changed .agentctl/agentctl.db; the run must be repeated",
            )
        needing = binding.needing_approval(run.findings)
        chosen = needing
        if finding_specs:
            chosen = []
            for spec in finding_specs:
                parsed = binding.parse_spec(spec)
                hits = [f for f in needing if binding.matches_spec(parsed, f)]
                if not hits:
                    listed = ", ".join(binding.label(f) for f in needing) or "none"
                    raise AgentctlError(
                        f"run {run.id} has no finding needing approval that matches '{spec}'",
                        f"findings needing approval: {listed}",
                    )
                chosen += [f for f in hits if f not in chosen]
        decision = "deny" if deny else "approve"
        for finding in chosen:
            target = f"finding:{binding.label(finding)}"
            store.add_approval(run.id, approver, decision, reason.strip(), target=target, covers=[binding.key(finding)])
        if not chosen:
            store.add_approval(run.id, approver, decision, reason.strip(), target="run")
        return {
            "run_id": run.id,
            "approver": approver,
            "decision": decision,
            "reason": reason.strip(),
            "findings": [binding.label(f) for f in chosen],
        }
    finally:
        store.close()
