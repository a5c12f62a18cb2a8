"""The issue's load test, on SQLite and on a real PostgreSQL cluster alike.

Eight processes each record 200 runs of 50 events at the same time, through the
code path ``agentctl run`` uses (``create_run``, the sandbox label, the
``EventWriter`` thread, then the outcome, the changed paths and the verdict).
Afterwards every count is exact, nothing is duplicated, every record and the
history verify, and the installed ``agentctl trust`` counts all 1,600 runs clean.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import time
from pathlib import Path

from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writer import EventWriter
from tests.conftest import GitRepo, agentctl_binary

WRITERS, RUNS, EVENTS = 8, 200, 50
HUMAN = {"CI": "", "GITHUB_ACTOR": "", "GITLAB_USER_LOGIN": "", "AGENTCTL_RUN_ID": "", "AGENTCTL_GATE_SOCKET": ""}


def _open(url: str, keydir: Path) -> Store:
    if url.startswith("sqlite:///"):
        return Store(Path(url[len("sqlite:///") :]), None)
    return Store(keydir / "agentctl.db", url)


def _writer(url: str, keydir: str, prefix: str) -> None:
    """One CI runner: runs one after another, each recorded as the supervisor and pipeline record it."""
    store = _open(url, Path(keydir))
    server = None if url.startswith("sqlite:///") else url
    for n in range(RUNS):
        run_id = f"{prefix}-{n:04d}"
        store.create_run(
            RunRecord(id=run_id, agent="claude", status="running", started_at=time.time(), pid=os.getpid())
        )
        store.update_run(run_id, sandbox="bwrap")
        writer = EventWriter(store.path, server)
        for seq in range(1, EVENTS + 1):
            payload = json.dumps({"kind": "tool_start", "tool_name": "Bash", "tool_input": {"command": f"ls {seq}"}})
            writer.append(
                run_id, seq, "tool_start", time.time(), payload, {"tool_calls": seq} if seq % 7 == 0 else None
            )
        writer.close()
        store.update_run(run_id, status="completed", stop_reason=None, ended_at=time.time(), tool_calls=EVENTS)
        store.update_run(run_id, verdict="passed", findings=[])
        store.update_run(run_id, changed_paths=[f"src/{prefix}.py"], end_commit=None)
        store.update_run(run_id, exit_code=0)
    store.close()


def test_eight_writers_record_200_runs_of_50_events_each_exactly(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    repo = GitRepo(tmp_path / "repo")
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    keydir = repo.root / ".agentctl"
    _open(store_url, keydir).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(store_url, str(keydir), f"w{i}")) for i in range(WRITERS)]
    started = time.monotonic()
    for p in procs:
        p.start()
    for p in procs:
        p.join(max(1.0, 1200 - (time.monotonic() - started)))
    hung = [p.pid for p in procs if p.is_alive()]
    for p in procs:
        if p.is_alive():
            p.kill()
    assert not hung, f"writers still running after 20 minutes (deadlocked?): {hung}"
    assert [p.exitcode for p in procs] == [0] * WRITERS  # an error in any writer (lock, deadlock, duplicate) fails it

    store = _open(store_url, keydir)
    per_run = store.db.execute("SELECT run_id, COUNT(*), MIN(seq), MAX(seq) FROM events GROUP BY run_id").fetchall()
    assert len(per_run) == WRITERS * RUNS
    assert {(n, low, high) for _, n, low, high in per_run} == {(EVENTS, 1, EVENTS)}
    assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == WRITERS * RUNS * EVENTS
    runs = store.all_runs()
    assert sorted(r.id for r in runs) == sorted(f"w{i}-{n:04d}" for i in range(WRITERS) for n in range(RUNS))
    assert {(r.status, r.tool_calls, r.verdict) for r in runs} == {("completed", EVENTS, "passed")}
    ledger = store.db.execute("SELECT COUNT(*), COUNT(DISTINCT run_id), MIN(seq), MAX(seq) FROM ledger").fetchone()
    assert tuple(ledger) == (WRITERS * RUNS, WRITERS * RUNS, 1, WRITERS * RUNS)
    assert store.verify_ledger() == []
    assert {check.state for check in store.verify_all(runs, full=True).values()} == {"verified"}  # every event's MAC
    store.close()

    env = {**os.environ, **HUMAN, "AGENTCTL_STORE": store_url, "HOME": str(tmp_path)}
    for fmt in ("table", "json"):  # counted in the store, then every run read and listed
        trust = subprocess.run(
            [agentctl_binary(), "trust", "--format", fmt], cwd=repo.root, env=env, capture_output=True, text=True
        )
        assert trust.returncode == 0, trust.stderr
        assert "not counted" not in trust.stderr and "tampered" not in trust.stderr
    report = json.loads(trust.stdout)
    assert report["history"] == {"verified": True, "problems": []}
    assert (report["records"]["verified"], report["records"]["failed"]) == (WRITERS * RUNS, [])
    scope = report["scopes"][0]
    assert (scope["n"], scope["successes"], scope["decision"]) == (WRITERS * RUNS, WRITERS * RUNS, "autonomous")
    verdict = subprocess.run(
        [agentctl_binary(), "runs", "verdict", "w7-0199"], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
