"""Trust the agent cannot talk up: settings from the committed base, tampered runs never clean.

The agent under ``agentctl run`` may edit the working tree, so ``trust`` reads
``agentctl.yaml`` as committed at HEAD, a change to it is a finding of its own,
and a run record edited after the fact is named and not counted as clean.
"""

from __future__ import annotations

import json
import os
import subprocess

from agentctl.store.sqlite import Store
from tests.conftest import GitRepo, agentctl_binary
from tests.trust import test_trust
from tests.trust.test_trust import CONFIG, add_run, scope, trust_json

history = test_trust.history  # the same 25-clean-runs history fixture

STRICT = CONFIG.replace("threshold: 0.85", "threshold: 0.99")


def decide(repo: GitRepo, *paths: str) -> subprocess.CompletedProcess[str]:
    args = [agentctl_binary(), "trust", "decide", "--agent", "claude"]
    for path in paths:
        args += ["--paths", path]
    return subprocess.run(args, cwd=repo.root, capture_output=True, text=True)


def test_an_uncommitted_threshold_edit_changes_nothing(history) -> None:  # type: ignore[no-untyped-def]
    repo, _ = history
    repo.write("agentctl.yaml", STRICT)
    repo.commit("stricter trust")
    assert decide(repo, "envs/dev/a.tf").returncode == 3  # 25/25 does not reach 0.99

    repo.write("agentctl.yaml", STRICT.replace("threshold: 0.99", "threshold: 0.01").replace("20", "1"))
    lowered = decide(repo, "envs/dev/a.tf")
    assert lowered.returncode == 3 and lowered.stdout.strip() == "supervised"
    assert "agentctl.yaml in the working tree differs from HEAD" in lowered.stderr
    assert scope(trust_json(repo), "dev-infra")["threshold"] == 0.99

    (repo.root / "agentctl.yaml").unlink()  # deleting it does not fall back to the defaults either
    assert decide(repo, "envs/dev/a.tf").returncode == 3

    repo.write("agentctl.yaml", CONFIG)
    repo.commit("reviewed: back to 0.85")
    accepted = decide(repo, "envs/dev/a.tf")
    assert accepted.returncode == 0 and "differs" not in accepted.stderr


def test_an_edited_run_record_is_named_and_never_clean(history) -> None:  # type: ignore[no-untyped-def]
    repo, store = history
    add_run(
        store,
        repo,
        "r-dev-denied",
        ["envs/dev/open.tf"],
        verdict="blocked",
        findings=[{"rule_id": "aws-s3-public-acl", "action": "deny", "status": "open"}],
    )
    before = scope(trust_json(repo), "dev-infra")
    assert (before["n"], before["successes"]) == (26, 25)

    # what an agent with a shell would do to its own record
    subprocess.run(
        ["sqlite3", str(store.path), "UPDATE runs SET verdict = 'passed', findings = '[]' WHERE id = 'r-dev-denied'"],
        check=True,
    )
    proc = subprocess.run(
        [agentctl_binary(), "trust", "--format", "json"], cwd=repo.root, capture_output=True, text=True
    )
    report = json.loads(proc.stdout)
    after = scope(report, "dev-infra")
    assert (after["n"], after["successes"]) == (26, 25)  # still not clean
    reasons = [d["reason"] for d in after["demotions"] if d["run"] == "r-dev-denied"]
    assert any("FAILED verification" in r for r in reasons)
    assert report["records"]["failed"][0]["run"] == "r-dev-denied"
    assert "run r-dev-denied not counted as clean" in proc.stderr

    score = subprocess.run(
        [agentctl_binary(), "score", "--format", "json"], cwd=repo.root, capture_output=True, text=True
    )
    assert score.returncode == 0, score.stderr
    trusted = json.loads(score.stdout)
    assert "r-dev-denied" not in trusted["inputs"]["runs"]


def test_deleting_a_failed_approval_refusal_is_detected(history) -> None:  # type: ignore[no-untyped-def]
    repo, store = history
    add_run(store, repo, "r-dev-refused", ["envs/dev/gpu.tf"], verdict="approval_required")
    env = {**os.environ, "CI": "", "GITHUB_ACTOR": "", "GITLAB_USER_LOGIN": ""}
    subprocess.run(
        [agentctl_binary(), "approve", "r-dev-refused", "--deny", "--reason", "no GPUs in dev"],
        cwd=repo.root,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(["sqlite3", str(store.path), "DELETE FROM approvals WHERE run_id = 'r-dev-refused'"], check=True)
    reopened = Store(store.path)
    try:
        check = reopened.verify("r-dev-refused")
    finally:
        reopened.close()
    assert check.state == "failed" and "does not match its seal (0 events, 0 approvals now)" in check.problems[0]


def test_config_file_changed_is_a_finding_of_the_change(repo: GitRepo) -> None:
    repo.write("agentctl.yaml", CONFIG)
    repo.write("envs/dev/main.tf", 'resource "aws_s3_bucket" "b" {}\n')
    repo.commit("init")
    repo.write("agentctl.yaml", CONFIG.replace("threshold: 0.85", "threshold: 0.10"))
    proc = subprocess.run(
        [agentctl_binary(), "check", "--diff", "HEAD", "--format", "json"],
        cwd=repo.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 3, proc.stderr  # nothing blocks, but a person must approve it
    [finding] = [f for f in json.loads(proc.stdout)["findings"] if f["rule_id"] == "config-file-changed"]
    assert finding["action"] == "require_approval" and finding["path"] == "agentctl.yaml"
    unchanged = subprocess.run(
        [agentctl_binary(), "check", "--diff", "HEAD", "--format", "json"],
        cwd=repo.root / "envs",
        capture_output=True,
        text=True,
    )
    assert unchanged.returncode == 3  # the whole change is judged from any directory of the repository
