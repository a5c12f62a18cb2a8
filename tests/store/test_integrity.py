"""Tamper-evident records: forged, deleted, edited and reordered rows are seen and never believed.

Records are written through the real store (as ``agentctl run`` writes them),
tampered with by a real ``sqlite3`` process as an agent with a shell would,
and judged by the installed ``agentctl`` binary.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from agentctl.model.run import AgentEvent, EventKind
from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writer import EventWriter
from tests.conftest import GitRepo, agentctl_binary

GPU = {
    "rule_id": "gpu-instance-outside-production",
    "severity": "high",
    "action": "require_approval",
    "path": "envs/dev/main.tf",
    "line": 1,
    "address": "aws_instance.trainer",
    "message": "GPU instance type p4d.24xlarge outside production",
    "status": "open",
}
LB = {
    "rule_id": "k8s-loadbalancer-service",
    "severity": "medium",
    "action": "require_approval",
    "path": "envs/dev/svc.yaml",
    "line": 3,
    "address": "Service/web",
    "message": "Service of type LoadBalancer",
    "status": "open",
}
HUMAN = {"CI": "", "GITHUB_ACTOR": "", "GITLAB_USER_LOGIN": "", "AGENTCTL_RUN_ID": "", "AGENTCTL_GATE_SOCKET": ""}


def record_run(
    store: Store, run_id: str, *, verdict: str = "passed", findings: list[dict] | None = None, events: int = 6
) -> None:
    """A run recorded as ``agentctl run`` records one: events through the writer thread, then the outcome."""
    store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time() - 5))
    writer = EventWriter(store.path)
    for seq in range(1, events + 1):
        kind = EventKind.GATE if seq % 3 == 0 else EventKind.TOOL_START
        event = AgentEvent(
            kind, time.time(), tool_name="Bash", tool_id=f"toolu_{seq}", tool_input={"command": "terraform apply"}
        )
        if kind is EventKind.GATE:
            event.ok, event.text, event.data = False, "policy denied this call", {"decision": "deny", "findings": []}
        payload = json.dumps(event.to_record())
        writer.append(run_id, seq, kind.value, event.at, payload, {"tool_calls": seq} if seq % 2 == 0 else None)
    writer.close()
    store.update_run(run_id, status="completed", ended_at=time.time(), verdict=verdict, findings=findings or [])
    store.update_run(run_id, exit_code={"passed": 0, "approval_required": 3, "blocked": 1}[verdict])


def sql(db: Path, statement: str) -> None:
    """What an agent with a shell does: the sqlite3 command-line tool on the store."""
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(db), statement], check=True, capture_output=True)
    else:  # pragma: no cover - the CLI is installed with the test image
        with sqlite3.connect(db) as conn:
            conn.executescript(statement)


def agentctl(repo: GitRepo, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [agentctl_binary(), *args],
        cwd=repo.root,
        env={**os.environ, **HUMAN, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def store(repo: GitRepo) -> Store:
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    opened = Store(repo.root / ".agentctl" / "agentctl.db")
    yield opened
    opened.close()


def test_an_untouched_record_verifies_and_the_key_stays_private(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-clean", verdict="approval_required", findings=[GPU])
    key = repo.root / ".agentctl" / "store.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    shown = agentctl(repo, "runs", "show", "r-clean", "--json")
    assert json.loads(shown.stdout)["record"]["state"] == "verified"
    assert agentctl(repo, "runs", "verdict", "r-clean").returncode == 3
    secret = key.read_text().strip()
    for args in (("runs", "show", "r-clean"), ("runs", "list", "--json"), ("trust", "--format", "json")):
        out = agentctl(repo, *args)
        assert secret not in out.stdout + out.stderr


def test_a_forged_approval_inserted_with_sqlite3_is_not_believed(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-gpu", verdict="approval_required", findings=[GPU])
    sql(
        store.path,
        "INSERT INTO approvals (run_id, approver, decision, reason, at, seq, target, covers) VALUES "
        "('r-gpu', 'lead@example.com', 'approve', 'looks fine', 1700000000, 1, "
        "'finding:gpu-instance-outside-production:envs/dev/main.tf:1', "
        '\'[{"rule_id": "gpu-instance-outside-production", "path": "envs/dev/main.tf", "line": 1}]\')',
    )
    verdict = agentctl(repo, "runs", "verdict", "r-gpu")
    assert verdict.returncode == 1, verdict.stdout  # not approved: the record is not believed
    assert "approved" not in verdict.stdout.replace("not believed", "")
    assert "approval 1 (approve by lead@example.com) has no MAC" in verdict.stdout
    shown = agentctl(repo, "runs", "show", "r-gpu")
    assert "record: FAILED verification" in shown.stdout and "no MAC" in shown.stdout


def test_an_approval_copied_from_another_run_is_not_believed(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-approved", verdict="approval_required", findings=[GPU])
    record_run(store, "r-target", verdict="approval_required", findings=[GPU])
    assert agentctl(repo, "approve", "r-approved", "--reason", "ok for the demo").returncode == 0
    assert agentctl(repo, "runs", "verdict", "r-approved").returncode == 0
    # replay the genuine row, MAC and all, onto the other run
    sql(
        store.path,
        "INSERT INTO approvals (run_id, approver, decision, reason, at, seq, target, covers, mac) "
        "SELECT 'r-target', approver, decision, reason, at, seq, target, covers, mac FROM approvals "
        "WHERE run_id = 'r-approved'",
    )
    verdict = agentctl(repo, "runs", "verdict", "r-target")
    assert verdict.returncode == 1 and "MAC mismatch" in verdict.stdout


def test_deleted_gate_events_are_detected(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-del", events=9)
    assert agentctl(repo, "runs", "verdict", "r-del").returncode == 0
    sql(store.path, "DELETE FROM events WHERE run_id = 'r-del' AND kind = 'gate'")
    verdict = agentctl(repo, "runs", "verdict", "r-del")
    assert verdict.returncode == 1
    assert "events 3, 6 are missing (deleted)" in verdict.stdout and "does not match its seal" in verdict.stdout
    # the last events gone too: only the seal can tell, and it does
    record_run(store, "r-tail", events=9)
    sql(store.path, "DELETE FROM events WHERE run_id = 'r-tail' AND seq > 6")
    tail = agentctl(repo, "runs", "verdict", "r-tail")
    assert tail.returncode == 1 and "does not match its seal (6 events" in tail.stdout


def test_an_edited_or_reordered_event_is_detected(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-edit")
    sql(
        store.path,
        "UPDATE events SET payload = replace(payload, '\"deny\"', '\"allow\"') WHERE run_id = 'r-edit' AND seq = 3",
    )
    shown = agentctl(repo, "runs", "show", "r-edit", "--json")
    record = json.loads(shown.stdout)["record"]
    assert record["state"] == "failed" and record["bad_events"] == [3]
    assert "event 3 is changed or moved" in agentctl(repo, "runs", "show", "r-edit").stdout

    record_run(store, "r-swap")
    sql(
        store.path,
        "UPDATE events SET seq = -1 WHERE run_id = 'r-swap' AND seq = 2;"
        "UPDATE events SET seq = 2 WHERE run_id = 'r-swap' AND seq = 4;"
        "UPDATE events SET seq = 4 WHERE run_id = 'r-swap' AND seq = -1;",
    )
    swapped = json.loads(agentctl(repo, "runs", "show", "r-swap", "--json").stdout)["record"]
    assert swapped["state"] == "failed" and 2 in swapped["bad_events"]


def test_an_edited_verdict_is_detected_and_stays_detected(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-blocked", verdict="blocked", findings=[{**GPU, "action": "deny"}])
    sql(store.path, "UPDATE runs SET verdict = 'passed', findings = '[]', exit_code = 0 WHERE id = 'r-blocked'")
    verdict = agentctl(repo, "runs", "verdict", "r-blocked")
    assert verdict.returncode == 1 and "does not match its seal" in verdict.stdout
    # a later legitimate write (export bookkeeping) must not launder the edit
    store.update_run("r-blocked", export_state="delivered")
    assert agentctl(repo, "runs", "verdict", "r-blocked").returncode == 1
    # nor can a person approve a record that was tampered with
    refused = agentctl(repo, "approve", "r-blocked", "--reason", "ok")
    assert refused.returncode == 2 and "would not be believed" in refused.stderr


def test_an_approval_for_one_finding_does_not_clear_another(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-two", verdict="approval_required", findings=[GPU, LB])
    approve_gpu = agentctl(
        repo, "approve", "r-two", "--finding", "gpu-instance-outside-production:envs/dev/main.tf", "--reason", "demo"
    )
    assert approve_gpu.returncode == 0, approve_gpu.stderr
    assert json.loads(approve_gpu.stdout)["findings"] == ["gpu-instance-outside-production:envs/dev/main.tf:1"]
    waiting = agentctl(repo, "runs", "verdict", "r-two")
    assert waiting.returncode == 3
    assert "k8s-loadbalancer-service:envs/dev/svc.yaml:3" in waiting.stdout
    assert "gpu-instance" not in waiting.stdout
    unknown = agentctl(repo, "approve", "r-two", "--finding", "tool-helm-uninstall", "--reason", "x")
    assert unknown.returncode == 2 and "k8s-loadbalancer-service:envs/dev/svc.yaml:3" in unknown.stderr
    assert agentctl(repo, "approve", "r-two", "--finding", "k8s-loadbalancer-service", "--reason", "ok").returncode == 0
    done = agentctl(repo, "runs", "verdict", "r-two")
    assert done.returncode == 0 and "approved by" in done.stdout
    stored = store.approvals("r-two")
    assert [a["target"] for a in stored] == [
        "finding:gpu-instance-outside-production:envs/dev/main.tf:1",
        "finding:k8s-loadbalancer-service:envs/dev/svc.yaml:3",
    ]
    assert all(a["approver"] == "dev@example.com" and a["mac"] for a in stored)


@pytest.mark.parametrize("variable", ["AGENTCTL_RUN_ID", "AGENTCTL_GATE_SOCKET"])
def test_approve_refuses_inside_a_run(repo: GitRepo, store: Store, variable: str) -> None:
    record_run(store, "r-inside", verdict="approval_required", findings=[GPU])
    inside = agentctl(repo, "approve", "r-inside", "--reason", "I approve myself", **{variable: "r-inside"})
    assert inside.returncode == 2
    assert "refuses to run inside an agent's run" in inside.stderr and "hint:" in inside.stderr
    assert "Traceback" not in inside.stderr
    assert store.approvals("r-inside") == []
    assert agentctl(repo, "runs", "verdict", "r-inside").returncode == 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_approve_refuses_when_the_store_is_read_only(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-ro", verdict="approval_required", findings=[GPU])
    directory = store.path.parent
    directory.chmod(0o500)
    try:
        refused = agentctl(repo, "approve", "r-ro", "--reason", "x")
    finally:
        directory.chmod(0o700)
    assert refused.returncode == 2 and "not writable" in refused.stderr


def test_a_missing_key_means_nothing_verifies(repo: GitRepo, store: Store) -> None:
    record_run(store, "r-key")
    (repo.root / ".agentctl" / "store.key").unlink()
    verdict = agentctl(repo, "runs", "verdict", "r-key")
    assert verdict.returncode == 1 and "store key" in verdict.stdout and "missing" in verdict.stdout


def test_records_from_before_sealing_are_unverified_legacy(repo: GitRepo) -> None:
    """A store written by an earlier agentctl (no MAC columns) migrates without loss and is never clean."""
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    db = repo.root / ".agentctl" / "agentctl.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, agent TEXT NOT NULL, model TEXT, session_id TEXT,"
            " status TEXT NOT NULL, exit_code INTEGER, started_at REAL NOT NULL, ended_at REAL, verdict TEXT,"
            " findings TEXT, changed_paths TEXT);"
            "CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL,"
            " payload TEXT NOT NULL, PRIMARY KEY (run_id, seq));"
            "CREATE TABLE approvals (run_id TEXT NOT NULL, approver TEXT NOT NULL, decision TEXT NOT NULL,"
            " reason TEXT NOT NULL, at REAL NOT NULL);"
            "INSERT INTO runs VALUES ('r-old', 'claude', NULL, NULL, 'completed', 0, 1700000000, 1700000060,"
            " 'passed', '[]', '[\"README.md\"]');"
            "INSERT INTO events VALUES ('r-old', 1, 1700000001, 'tool_start', '{\"kind\": \"tool_start\","
            ' "at": 1700000001, "tool_name": "Bash", "tool_id": "t1"}\');'
        )
    shown = agentctl(repo, "runs", "show", "r-old")
    assert shown.returncode == 0 and "unverified (legacy)" in shown.stdout and "Bash" in shown.stdout
    verdict = agentctl(repo, "runs", "verdict", "r-old")
    assert verdict.returncode == 3 and "unverified (legacy)" in verdict.stdout
    trust = agentctl(repo, "trust", "--format", "json")
    [scope] = json.loads(trust.stdout)["scopes"]
    assert (scope["n"], scope["successes"]) == (1, 0)
    assert "legacy" in scope["demotions"][0]["reason"]
    assert "unverified (legacy" in trust.stderr
    # a person can still accept an old run explicitly; the approval itself is sealed
    assert agentctl(repo, "approve", "r-old", "--reason", "reviewed by hand").returncode == 0
    assert agentctl(repo, "runs", "verdict", "r-old").returncode == 0


def test_a_gate_approval_clears_only_what_that_tool_call_wrote(repo: GitRepo, store: Store) -> None:
    """The person at the gate's prompt approved one Write of one file: a second file still waits."""
    from agentctl.trust.approvals import gate_binding

    other = {**GPU, "path": "envs/staging/main.tf", "address": "aws_instance.other"}
    record_run(store, "r-gate", verdict="approval_required", findings=[GPU, other])
    gate_line = {
        "kind": "gate",
        "decision": "allow",
        "tool_name": "Write",
        "tool_id": "toolu_01",
        "tool_input": {"file_path": str(repo.root / "envs/dev/main.tf"), "content": "…"},
        "paths": ["envs/dev/main.tf"],
        "approver": "dev@example.com",
        "findings": [{"rule_id": GPU["rule_id"], "action": "require_approval"}],
    }
    target, covers = gate_binding(gate_line)
    store.add_approval("r-gate", "dev@example.com", "approve", "at the terminal", target=target, covers=covers)
    assert target.startswith("tool:toolu_01:") and len(target) > len("tool:toolu_01:") + 16
    waiting = agentctl(repo, "runs", "verdict", "r-gate")
    assert waiting.returncode == 3 and "envs/staging/main.tf" in waiting.stdout and "envs/dev" not in waiting.stdout
