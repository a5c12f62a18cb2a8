"""``agentctl score`` on real repositories built up level by level, with DORA from their history."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from agentctl.store.sqlite import RunRecord, Store
from tests.conftest import REPO_ROOT, GitRepo, agentctl_binary

DAY = 86400
NOW = 1_790_000_000  # a fixed "now": every commit date below is relative to it


def commit_at(repo: GitRepo, message: str, when: int, files: dict[str, str] | None = None) -> str:
    for path, text in (files or {}).items():
        repo.write(path, text)
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"}
    subprocess.run(["git", "add", "-A"], cwd=repo.root, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=repo.root, check=True, env=env)
    return repo.git("rev-parse", "HEAD")


def tag_at(repo: GitRepo, name: str, when: int) -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": f"@{when} +0000"}
    subprocess.run(["git", "tag", "-a", name, "-m", name], cwd=repo.root, check=True, env=env)


AGENT = "\n\nCo-authored-by: Claude <noreply@anthropic.com>"
CI_TESTS = "on: pull_request\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest -q\n"
CI_POLICY = (
    "on: pull_request\njobs:\n  agentctl:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: agentctl/agentctl@v0\n"
)
POLICY = (
    "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata: {name: team}\nrules:\n"
    "  - {id: team-rule, title: t, severity: low, action: warn, target: terraform, condition: 'false', message: m}\n"
)
TRUST = "trust:\n  threshold: 0.85\n  min_runs: 20\n  scopes:\n    - name: dev\n      paths: ['envs/dev/**']\n"


def add_runs(repo: GitRepo, count: int, *, limits: dict | None = None, verdict: str = "passed") -> None:
    store = Store(repo.root / ".agentctl" / "agentctl.db")
    try:
        for i in range(count):
            run_id = f"run-{verdict}-{i:03d}-{time.monotonic_ns()}"
            store.create_run(
                RunRecord(id=run_id, agent="claude", status="running", started_at=NOW - 3 * DAY, limits=limits or {})
            )
            store.update_run(
                run_id,
                status="completed",
                ended_at=NOW - 3 * DAY + 60,
                verdict=verdict,
                changed_paths=[f"envs/dev/s{i}.tf"],
                sandbox="bwrap",
            )
    finally:
        store.close()


def build(repo: GitRepo, level: int) -> None:
    """A repository whose evidence reaches exactly ``level``."""
    repo.write(".gitignore", ".agentctl/\n")
    commit_at(repo, "init", NOW - 80 * DAY, {"README.md": "# infra\n"})
    if level >= 1:
        commit_at(repo, "agent notes", NOW - 79 * DAY, {"AGENTS.md": "Run pytest before pushing.\n"})
    if level >= 2:
        commit_at(repo, "ci", NOW - 78 * DAY, {".github/workflows/test.yml": CI_TESTS})
        commit_at(repo, "feat: bucket" + AGENT, NOW - 77 * DAY, {"envs/dev/s3.tf": 'resource "aws_s3_bucket" "b" {}\n'})
    if level >= 3:
        commit_at(
            repo,
            "policies",
            NOW - 76 * DAY,
            {"policies/team.yaml": POLICY, ".github/workflows/agentctl.yml": CI_POLICY},
        )
        add_runs(repo, 3, verdict="passed")  # runs with proof, but no budgets yet
    if level >= 4:
        commit_at(repo, "trust", NOW - 75 * DAY, {"agentctl.yaml": TRUST})
        store = Store(repo.root / ".agentctl" / "agentctl.db")
        for run in store.all_runs():  # through the store: records stay sealed (a raw UPDATE is tampering)
            store.update_run(run.id, limits={"max_usd": 2.0})
        store.close()
        add_runs(repo, 25, limits={"max_usd": 2.0, "max_turns": 40})
    if level >= 5:
        for i in range(6):  # agent deployments, none fails
            commit_at(repo, f"feat: agent change {i}" + AGENT, NOW - (60 - 5 * i) * DAY, {f"envs/dev/a{i}.tf": "#\n"})
            tag_at(repo, f"v1.{i}.0", NOW - (60 - 5 * i) * DAY + 3600)
        for i in range(6):  # human deployments, one reverted two days later
            commit_at(repo, f"feat: human change {i}", NOW - (30 - 4 * i) * DAY, {f"envs/dev/h{i}.tf": "#\n"})
            tag_at(repo, f"v2.{i}.0", NOW - (30 - 4 * i) * DAY + 7200)
            if i == 0:
                commit_at(
                    repo, 'Revert "feat: human change 0"', NOW - (30 - 4 * i) * DAY + 2 * DAY, {"envs/dev/h0.tf": ""}
                )


def score(repo: GitRepo, *args: str) -> dict:
    proc = subprocess.run(
        [agentctl_binary(), "score", "--format", "json", *args], cwd=repo.root, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def outcomes(report: dict) -> dict[str, str]:
    return {c["id"]: c["outcome"] for c in report["criteria"]}


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_each_level_is_recognised_from_evidence(repo: GitRepo, level: int) -> None:
    build(repo, level)
    report = score(repo)
    assert report["level"] == level, outcomes(report)
    if level < 5:
        assert report["next_level"]["level"] == level + 1
        assert report["next_level"]["blocked_by"]
        for blocker in report["next_level"]["blocked_by"]:
            criterion = next(c for c in report["criteria"] if c["id"] == blocker)
            assert criterion["outcome"] in ("FAIL", "UNKNOWN") and criterion["remediation"]


def test_evidence_names_what_was_found(repo: GitRepo) -> None:
    build(repo, 3)
    found = {c["id"]: c["evidence"] for c in score(repo)["criteria"]}
    assert found["agent-instructions"]["files"] == ["AGENTS.md"]
    assert found["ci-runs-tests"]["running_tests"] == [".github/workflows/test.yml"]
    assert found["policy-as-code-in-ci"] == {
        "policy_files": ["policies/team.yaml"],
        "enforced_in": [".github/workflows/agentctl.yml"],
    }
    assert found["runs-carry-validation"] == {"validated": 3, "runs": 3}
    assert found["budgets-configured"] == {"bounded": 0, "runs": 3}


def test_dora_from_git_split_by_author(repo: GitRepo) -> None:
    build(repo, 5)
    dora = score(repo, "--window-days", "90")["dora"]
    assert "approximat" in dora["approximation"]
    # v1.0.0 is the baseline (everything before it): 5 agent deployments are counted, 6 human ones
    assert dora["agent"]["deployments"] == 5 and dora["human"]["deployments"] == 6
    assert dora["human"]["failed_deployments"] == 1 and dora["human"]["change_failure_rate"] == pytest.approx(
        1 / 6, abs=1e-3
    )
    assert dora["agent"]["change_failure_rate"] == 0.0
    assert dora["agent"]["lead_time_hours_median"] == pytest.approx(1.0, abs=0.01)  # tagged an hour after the commit
    assert dora["human"]["time_to_restore_hours_median"] == pytest.approx(
        4 * 24, abs=0.1
    )  # next deployment four days later
    assert dora["all"]["sample_commits"] >= 12


def test_signed_score_is_reproducible_and_verifiable(repo: GitRepo, tmp_path: Path) -> None:
    from tests.trust.test_trust import keypair

    build(repo, 4)
    private, public = keypair(tmp_path)
    runs = [
        subprocess.run(
            [agentctl_binary(), "score", "--format", "intoto", "--key", str(private)],
            cwd=repo.root,
            capture_output=True,
            text=True,
        )
        for _ in range(2)
    ]
    payloads = [base64.b64decode(json.loads(r.stdout)["payload"]) for r in runs]
    assert payloads[0] == payloads[1]  # same inputs, byte-identical statement
    statement = json.loads(payloads[0])
    assert statement["predicate"]["level"] == 4 and statement["predicate"]["inputs"]["policies"]
    path = tmp_path / "score.intoto.json"
    path.write_text(runs[0].stdout)
    verified = subprocess.run(
        [agentctl_binary(), "verify", str(path), "--key", str(public)], cwd=repo.root, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr


def test_this_repository_is_scored_with_evidence() -> None:
    proc = subprocess.run(
        [agentctl_binary(), "score", "--format", "json", str(REPO_ROOT)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    found = outcomes(report)
    assert found["version-control"] == "PASS" and found["agent-instructions"] == "PASS"
    assert found["ci-runs-tests"] == "PASS"
    assert report["level"] >= 1


def test_criteria_doc_is_generated_from_the_data_file() -> None:
    proc = subprocess.run([agentctl_binary(), "score", "--format", "criteria"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout == (REPO_ROOT / "docs" / "score.md").read_text(), "regenerate docs/score.md"


def test_criteria_and_probes_agree() -> None:
    from agentctl.pipeline.score import criteria
    from agentctl.score.probes import PROBES, check_registry

    ids = [c.id for c in criteria()]
    assert sorted(ids) == sorted(PROBES) and {c.level for c in criteria()} == {1, 2, 3, 4, 5}
    with pytest.raises(ValueError):
        check_registry([*ids, "made-up"])
    with pytest.raises(ValueError):
        check_registry([*ids, ids[0]])
