"""``agentctl score``: collect evidence once, run every probe, derive the level."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agentctl import config as config_module
from agentctl.attest import intoto
from agentctl.pipeline.trust import repo_root
from agentctl.score import dora, probes
from agentctl.score.probes import Evidence, Outcome
from agentctl.sources import gitcli
from agentctl.store.integrity import FAILED
from agentctl.store.sqlite import Store, configured_url, current_repo, default_path
from agentctl.trust.evidence import evaluate

LEVEL_NAMES = {
    0: "below level 1",
    1: "GenAI-assisted",
    2: "GenAI-augmented",
    3: "spec-centric",
    4: "selective autonomy",
    5: "full autonomy",
}
PREDICATE_TYPE = "https://agentctl.dev/attestations/score/v1"
CI_GLOBS = (".github/workflows/", ".gitlab-ci.yml", ".pre-commit-config.yaml", ".gitlab/", ".ci/", "ci/")
"""CI definitions, and the scripts next to them that CI jobs commonly call."""


@dataclass(frozen=True)
class Criterion:
    id: str
    level: int
    question: str
    measure: str
    remediation: str


def criteria() -> list[Criterion]:
    raw = yaml.safe_load((resources.files("agentctl.score") / "criteria.yaml").read_text(encoding="utf-8"))
    items = [Criterion(**entry) for entry in raw]
    probes.check_registry([c.id for c in items])
    return items


@dataclass
class ScoreReport:
    root: Path
    commit: str | None
    level: int
    results: list[dict[str, Any]]
    next_level: dict[str, Any] | None
    dora: dict[str, Any]
    inputs: dict[str, Any]

    def predicate(self) -> dict[str, Any]:
        return {
            "version": 1,
            "level": self.level,
            "level_name": LEVEL_NAMES[self.level],
            "criteria": self.results,
            "next_level": self.next_level,
            "dora": self.dora,
            "inputs": self.inputs,
        }


def collect(
    cwd: Path, tag_pattern: str, window_days: int, failure_days: int, all_repos: bool = False
) -> tuple[Evidence, dict[str, Any]]:
    root = repo_root(cwd)
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True).stdout
    files = sorted(p for p in listed.split("\0") if p)
    history = gitcli.commits(root) if gitcli.head(root) else []
    ci_files = {}
    for path in files:
        if path.startswith(CI_GLOBS) and (path.endswith((".yml", ".yaml", ".sh")) or path.startswith((".ci/", "ci/"))):
            try:
                ci_files[path] = (root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
    config, config_text, _ = config_module.load_committed(root)  # what the change under review cannot edit
    store_path = default_path(root)
    runs, approvals, records = [], [], {}
    if store_path.exists() or configured_url():
        store = Store(store_path)
        try:
            store.mark_orphans()
            runs, approvals = store.all_runs(None if all_repos else current_repo(root)), store.approvals()
            records = store.verify_all(runs)
        finally:
            store.close()
    # Only approvals whose MAC checks out are evidence; runs whose record fails verification are not.
    approvals = [a for check in records.values() for a in check.approvals]
    trust_scopes = [s.as_dict() for s in evaluate(root, runs, approvals, config.trust, records)] if runs else []
    runs = [r for r in runs if records[r.id].state != FAILED]
    deployed = dora.deployments(root, tag_pattern, failure_days, window_days) if history else []
    evidence = Evidence(
        root=root,
        commit_count=len(history),
        files=files,
        agent_commits=sum(map(dora.agent_authored, history)),
        runs=runs,
        approvals=approvals,
        trust_defined="trust:" in config_text,
        trust_scopes=trust_scopes,
        dora=dora.summary(deployed, window_days),
        ci_files=ci_files,
    )
    inputs = {
        "config": intoto.digest(config_text),
        "ci": {path: intoto.digest(text) for path, text in sorted(ci_files.items())},
        "policies": {
            path: intoto.digest((root / path).read_bytes())
            for path in files
            if path.startswith("policies/") and (root / path).is_file()
        },
        "runs": {
            r.id: intoto.digest(intoto.canonical({"status": r.status, "verdict": r.verdict, "limits": r.limits}))
            for r in runs
        },
    }
    return evidence, inputs


def score(
    cwd: Path, tag_pattern: str = "v*", window_days: int = 90, failure_days: int = 7, all_repos: bool = False
) -> ScoreReport:
    evidence, inputs = collect(cwd, tag_pattern, window_days, failure_days, all_repos)
    results: list[dict[str, Any]] = []
    for criterion in criteria():
        result = probes.PROBES[criterion.id](evidence)
        results.append(
            {
                "id": criterion.id,
                "level": criterion.level,
                "question": criterion.question,
                "outcome": result.outcome.value,
                "evidence": result.evidence,
                "remediation": criterion.remediation if result.outcome in (Outcome.FAIL, Outcome.UNKNOWN) else "",
            }
        )
    level = 0
    for candidate in range(1, 6):
        needed = [r for r in results if r["level"] <= candidate]
        if all(r["outcome"] in (Outcome.PASS.value, Outcome.NOT_APPLICABLE.value) for r in needed):
            level = candidate
        else:
            break
    next_level = None
    if level < 5:
        blocking = [r for r in results if r["level"] <= level + 1 and r["outcome"] in ("FAIL", "UNKNOWN")]
        next_level = {"level": level + 1, "name": LEVEL_NAMES[level + 1], "blocked_by": [r["id"] for r in blocking]}
    return ScoreReport(evidence.root, gitcli.head(evidence.root), level, results, next_level, evidence.dora, inputs)


def attest(report: ScoreReport, key: Path | None) -> tuple[str, bool]:
    import json

    if report.commit is None:
        from agentctl.errors import AgentctlError

        raise AgentctlError("the repository has no commit to attest", "commit first")
    stmt = intoto.statement(f"git+file://{report.root.name}", report.commit, PREDICATE_TYPE, report.predicate())
    env, signed = intoto.envelope(stmt, key)
    return json.dumps(env, indent=2) + "\n", signed
