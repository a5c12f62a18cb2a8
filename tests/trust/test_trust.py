"""Trust evidence from run history: Wilson bounds, scopes, demotions, approvals, signed statements.

Run records are imported into a real SQLite store next to a real git history
(agent commits, reverts); one test records runs of the real Claude Code CLI.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from agentctl.store.sqlite import RunRecord, Store
from agentctl.trust.wilson import clean_runs_needed, lower_bound
from tests.conftest import GitRepo, agentctl_binary

CONFIG = """\
trust:
  confidence: 0.95
  threshold: 0.85
  min_runs: 20
  revert_window_days: 7
  scopes:
    - name: dev-infra
      paths: ["envs/dev/**"]
    - name: docs
      paths: ["docs/**"]
"""


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [(10, 10, 0.72), (19, 20, 0.76), (95, 100, 0.89), (0, 5, 0.0), (50, 100, 0.40)],
)
def test_wilson_lower_bound_matches_the_hand_worked_table(successes: int, n: int, expected: float) -> None:
    assert round(lower_bound(successes, n, 0.95), 2) == expected


def test_clean_runs_needed() -> None:
    assert clean_runs_needed(25, 25, 0.85, 20) == 0
    needed = clean_runs_needed(19, 20, 0.90, 20)
    assert needed is not None and lower_bound(19 + needed, 20 + needed) >= 0.90 > lower_bound(18 + needed, 19 + needed)
    assert clean_runs_needed(5, 5, 0.85, 20) == 15 + (clean_runs_needed(20, 20, 0.85, 20) or 0)


def add_run(store: Store, repo: GitRepo, run_id: str, paths: list[str], **fields: object) -> RunRecord:
    base = repo.git("rev-parse", "HEAD")
    for path in paths:
        repo.write(path, f"# {run_id}\n")
    end = repo.commit(f"agent run {run_id}\n\nCo-authored-by: Claude <noreply@anthropic.com>")
    record = RunRecord(
        id=run_id,
        agent=str(fields.pop("agent", "claude")),
        status="running",
        started_at=time.time() - 60,
        base_commit=base,
        started_by="alice@example.com",
    )
    store.create_run(record)
    store.update_run(
        run_id,
        status=fields.pop("status", "completed"),
        ended_at=time.time() - 30,
        verdict=fields.pop("verdict", "passed"),
        changed_paths=paths,
        end_commit=end,
        findings=fields.pop("findings", []),
        sandbox=fields.pop("sandbox", "bwrap"),
    )
    return store.get_run(run_id)


@pytest.fixture
def history(repo: GitRepo) -> tuple[GitRepo, Store]:
    repo.write("agentctl.yaml", CONFIG)
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    store = Store(repo.root / ".agentctl" / "agentctl.db")
    for i in range(25):
        add_run(store, repo, f"r-dev-{i:02d}", [f"envs/dev/svc{i}.tf"])
    for i in range(5):
        add_run(store, repo, f"r-docs-{i}", [f"docs/page{i}.md"])
    add_run(store, repo, "r-mixed", ["envs/dev/x.tf", "src/app.py"])  # in no scope: counts nowhere
    yield repo, store
    store.close()


def trust_json(repo: GitRepo) -> dict:
    proc = subprocess.run(
        [agentctl_binary(), "trust", "--format", "json"], cwd=repo.root, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def scope(report: dict, name: str, agent: str = "claude") -> dict:
    return next(s for s in report["scopes"] if s["scope"] == name and s["agent"] == agent)


def test_trust_per_agent_and_scope(history) -> None:  # type: ignore[no-untyped-def]
    repo, _ = history
    report = trust_json(repo)
    dev, docs = scope(report, "dev-infra"), scope(report, "docs")
    assert (dev["n"], dev["successes"], dev["decision"]) == (25, 25, "autonomous")
    assert dev["wilson_lower_bound"] == pytest.approx(lower_bound(25, 25), abs=1e-4)
    assert (docs["n"], docs["decision"], docs["clean_runs_needed"]) == (
        5,
        "insufficient-data",
        clean_runs_needed(5, 5, 0.85, 20),
    )
    assert "r-mixed" not in dev["runs"] and "r-mixed" not in docs["runs"]


def test_demotions_are_explicit(history) -> None:  # type: ignore[no-untyped-def]
    repo, store = history
    reverted = add_run(store, repo, "r-dev-reverted", ["envs/dev/bad.tf"])
    repo.git("revert", "--no-edit", reverted.end_commit or "")
    add_run(
        store,
        repo,
        "r-dev-deny",
        ["envs/dev/open.tf"],
        findings=[{"rule_id": "aws-s3-public-acl", "action": "deny", "status": "open"}],
        verdict="blocked",
    )
    add_run(store, repo, "r-dev-refused", ["envs/dev/gpu.tf"], verdict="approval_required")
    store.add_approval("r-dev-refused", "bob@example.com", "deny", "no GPUs in dev")
    dev = scope(trust_json(repo), "dev-infra")
    reasons = {d["run"]: d["reason"] for d in dev["demotions"]}
    assert "reverted within 7 days" in reasons["r-dev-reverted"]
    assert reasons["r-dev-deny"] in ("post-run check blocked", "deny finding")
    assert "denied" in " ".join(d["reason"] for d in dev["demotions"] if d["run"] == "r-dev-refused")
    assert (dev["n"], dev["successes"]) == (28, 25)
    assert dev["decision"] == "supervised"  # 25/28: lower bound below 0.85


def test_trust_decide_gates_auto_merge(history) -> None:  # type: ignore[no-untyped-def]
    repo, _ = history

    def decide(*paths: str) -> int:
        args = [agentctl_binary(), "trust", "decide", "--agent", "claude"]
        for path in paths:
            args += ["--paths", path]
        return subprocess.run(args, cwd=repo.root, capture_output=True, text=True).returncode

    assert decide("envs/dev/new.tf") == 0
    assert decide("docs/x.md") == 3
    assert decide("envs/dev/a.tf", "envs/prod/b.tf") == 3
    codex = subprocess.run(
        [agentctl_binary(), "trust", "decide", "--agent", "codex", "--paths", "envs/dev/a.tf"], cwd=repo.root
    )
    assert codex.returncode == 3


def keypair(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = tmp_path / "key.pem"
    public = tmp_path / "key.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def test_signed_statement_verifies_and_tampering_fails(history, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo, _ = history
    private, public = keypair(tmp_path)
    proc = subprocess.run(
        [agentctl_binary(), "trust", "--format", "intoto", "--key", str(private)],
        cwd=repo.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    envelope = json.loads(proc.stdout)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"][0]["digest"]["gitCommit"] == repo.git("rev-parse", "HEAD")
    assert statement["predicate"]["inputs"]["config"] and len(statement["predicate"]["inputs"]["runs"]) == 30
    signed = tmp_path / "trust.intoto.json"
    signed.write_text(proc.stdout)
    ok = subprocess.run(
        [agentctl_binary(), "verify", str(signed), "--key", str(public)], cwd=repo.root, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr

    statement["predicate"]["scopes"][0]["decision"] = "autonomous-forever"
    forged = dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    signed.write_text(json.dumps(forged))
    bad = subprocess.run(
        [agentctl_binary(), "verify", str(signed), "--key", str(public)], cwd=repo.root, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "FAILED" in bad.stderr

    (tmp_path / "other").mkdir()
    _, other_public = keypair(tmp_path / "other")
    signed.write_text(proc.stdout)
    wrong = subprocess.run(
        [agentctl_binary(), "verify", str(signed), "--key", str(other_public)],
        cwd=repo.root,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 1

    repo.write("later.txt", "x")
    repo.commit("later")
    stale = subprocess.run(
        [agentctl_binary(), "verify", str(signed), "--key", str(public)], cwd=repo.root, capture_output=True, text=True
    )
    assert stale.returncode == 1 and "not commit" in stale.stderr


def test_same_inputs_give_a_byte_identical_predicate(history) -> None:  # type: ignore[no-untyped-def]
    repo, _ = history
    outputs = [
        subprocess.run(
            [agentctl_binary(), "trust", "--format", "intoto"], cwd=repo.root, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    assert outputs[0].stdout == outputs[1].stdout
    assert "UNSIGNED" in outputs[0].stderr
    assert json.loads(outputs[0].stdout)["signatures"] == []


def test_approve_records_who_when_why_and_enforces_four_eyes_in_ci(history) -> None:  # type: ignore[no-untyped-def]
    repo, store = history
    env = {**os.environ, "CI": "true", "GITHUB_ACTOR": "alice@example.com"}
    own = subprocess.run(
        [agentctl_binary(), "approve", "r-docs-1", "--reason", "fine"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert own.returncode == 2 and "four-eyes" in own.stderr
    env["GITHUB_ACTOR"] = "bob"
    other = subprocess.run(
        [agentctl_binary(), "approve", "r-docs-1", "--reason", "docs only"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert other.returncode == 0, other.stderr
    [approval] = store.approvals("r-docs-1")
    assert (approval["approver"], approval["decision"], approval["reason"]) == ("bob", "approve", "docs only")
    assert approval["at"] > 0
    no_reason = subprocess.run(
        [agentctl_binary(), "approve", "r-docs-1"], cwd=repo.root, capture_output=True, text=True
    )
    assert no_reason.returncode == 2
    blank = subprocess.run(
        [agentctl_binary(), "approve", "r-docs-1", "--reason", "  "], cwd=repo.root, capture_output=True, text=True
    )
    assert blank.returncode == 2 and "needs a reason" in blank.stderr


def test_broken_config_is_exit_2_with_line(repo: GitRepo) -> None:
    repo.write("agentctl.yaml", "trust:\n  threshold: 2\n")
    repo.commit("bad config")
    proc = subprocess.run([agentctl_binary(), "trust"], cwd=repo.root, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "agentctl.yaml:2" in proc.stderr and "threshold" in proc.stderr


def test_a_store_error_read_alongside_the_config_is_one_line_and_the_config_error_comes_first(repo: GitRepo) -> None:
    """The store is read in a thread while the config is parsed: its errors still reach the user as one line."""
    url = "postgresql://agentctl:s3cret-pw@127.0.0.1:1/nowhere"  # nothing listens on port 1
    env = {**os.environ, "AGENTCTL_STORE": url, "HOME": str(repo.root / "home")}
    down = subprocess.run([agentctl_binary(), "trust"], cwd=repo.root, env=env, capture_output=True, text=True)
    assert down.returncode == 2, down.stderr
    assert "agentctl: error:" in down.stderr and "hint:" in down.stderr
    assert "Traceback" not in down.stderr and "s3cret-pw" not in down.stderr
    repo.write("agentctl.yaml", "trust:\n  threshold: 2\n")
    repo.commit("bad config")
    both = subprocess.run([agentctl_binary(), "trust"], cwd=repo.root, env=env, capture_output=True, text=True)
    assert both.returncode == 2 and "agentctl.yaml:2" in both.stderr and "threshold" in both.stderr
    assert "Traceback" not in both.stderr


def test_an_approved_run_no_longer_waits(history) -> None:  # type: ignore[no-untyped-def]
    repo, store = history
    add_run(store, repo, "r-needs-approval", ["envs/dev/lb.yaml"], verdict="approval_required")
    add_run(store, repo, "r-to-refuse", ["envs/dev/gpu.tf"], verdict="approval_required")

    def verdict(run_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [agentctl_binary(), "runs", "verdict", run_id], cwd=repo.root, capture_output=True, text=True
        )

    assert verdict("r-needs-approval").returncode == 3
    env = {**os.environ, "CI": "", "GITHUB_ACTOR": "", "GITLAB_USER_LOGIN": ""}
    subprocess.run(
        [agentctl_binary(), "approve", "r-needs-approval", "--reason", "LB for the demo"],
        cwd=repo.root,
        env=env,
        check=True,
        capture_output=True,
    )
    approved = verdict("r-needs-approval")
    assert approved.returncode == 0 and "approved by" in approved.stdout and "LB for the demo" in approved.stdout
    subprocess.run(
        [agentctl_binary(), "approve", "r-to-refuse", "--deny", "--reason", "no GPUs"],
        cwd=repo.root,
        env=env,
        check=True,
        capture_output=True,
    )
    assert verdict("r-to-refuse").returncode == 1
    assert verdict("r-dev-00").returncode == 0
