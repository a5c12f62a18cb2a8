"""``agentctl trust``, ``trust decide`` and ``approve``: evidence from the run store and git."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentctl import config as config_module
from agentctl import identity
from agentctl.attest import intoto
from agentctl.errors import AgentctlError
from agentctl.sources import gitcli
from agentctl.store.sqlite import Store, default_path
from agentctl.trust.evidence import ScopeTrust, evaluate, in_scope

PREDICATE_TYPE = "https://agentctl.dev/attestations/trust/v1"


@dataclass
class TrustReport:
    root: Path
    commit: str | None
    scopes: list[ScopeTrust]
    inputs: dict[str, Any]

    def predicate(self) -> dict[str, Any]:
        return {"version": 1, "scopes": [s.as_dict() for s in self.scopes], "inputs": self.inputs}


def repo_root(cwd: Path) -> Path:
    root = gitcli.toplevel(cwd)
    if root is None:
        raise AgentctlError(
            f"{cwd} is not inside a git repository", "run agentctl in the repository the runs were made in"
        )
    return root


def report(cwd: Path) -> TrustReport:
    root = repo_root(cwd)
    config, config_text = config_module.load(root)
    store = Store(default_path(root))
    try:
        store.mark_orphans()
        runs = store.all_runs()
        approvals = store.approvals()
    finally:
        store.close()
    scopes = evaluate(root, runs, approvals, config.trust)
    used = sorted({run_id for s in scopes for run_id in s.run_ids})
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
                        "approvals": [a for a in approvals if a["run_id"] == run_id],
                    }
                )
            )
            for run_id in used
        },
    }
    return TrustReport(root, gitcli.head(root), scopes, inputs)


def decide(cwd: Path, agent: str, paths: list[str]) -> tuple[str, ScopeTrust | None]:
    """The decision for an agent touching these paths: the first scope that holds them all."""
    trust = report(cwd)
    for scope in trust.scopes:
        if scope.agent == agent and in_scope(paths, scope.paths):
            return scope.decision, scope
    return "insufficient-data", None


def attest(trust: TrustReport, key: Path | None) -> tuple[str, bool]:
    if trust.commit is None:
        raise AgentctlError("the repository has no commit to attest", "commit first")
    subject = f"git+file://{trust.root.name}"
    stmt = intoto.statement(subject, trust.commit, PREDICATE_TYPE, trust.predicate())
    env, signed = intoto.envelope(stmt, key)
    return json.dumps(env, indent=2) + "\n", signed


def approve(cwd: Path, run_id: str, reason: str, deny: bool) -> dict[str, Any]:
    if not reason.strip():
        raise AgentctlError("an approval needs a reason", 'agentctl approve ID --reason "why this is fine"')
    root = repo_root(cwd)
    store = Store(default_path(root))
    try:
        run = store.get_run(run_id)
        approver = identity.current(root)
        if identity.in_ci() and run.started_by and approver == run.started_by:
            raise AgentctlError(
                f"{approver} started run {run.id} and cannot approve it in CI",
                "a second person must approve (four-eyes)",
            )
        store.add_approval(run.id, approver, "deny" if deny else "approve", reason.strip())
        return {
            "run_id": run.id,
            "approver": approver,
            "decision": "deny" if deny else "approve",
            "reason": reason.strip(),
        }
    finally:
        store.close()
