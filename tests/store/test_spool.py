"""Runs spooled locally while the server store was unreachable: pushed later by ``store sync`` or ``runs import``.

(The end-to-end runs of real agents against an unreachable or vanishing
server are in tests/agents/test_team_store.py.)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from agentctl.store.spool import SpooledStore
from agentctl.store.sqlite import RunRecord
from agentctl.store.writer import EventWriter
from tests.conftest import GitRepo
from tests.store.conftest import new_database
from tests.store.test_backends import cli


def _closed_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spool(keydir: Path, url: str, run_id: str, pid: int, finished: bool) -> Path:
    """What agentctl run leaves when the server cannot be reached: a spool holding one run."""
    store = SpooledStore(keydir, url)
    assert store.mirror.error is not None and "Connection refused" in store.mirror.error
    store.sealer(create=True)
    store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time(), pid=pid))
    writer = EventWriter(store.path, "", key_dir=keydir, mirror=store.mirror)
    for seq in range(1, 4):
        writer.append(run_id, seq, "tool_start", time.time(), json.dumps({"kind": "tool_start", "n": seq}), None)
    writer.close()
    if finished:
        store.update_run(run_id, status="completed", ended_at=time.time(), exit_code=0, verdict="passed", tool_calls=3)
    store.close()
    kept = store.finish(run_id)
    assert kept == keydir / "spool" / f"{run_id}.db" and kept.is_file()
    return kept


def test_store_sync_pushes_finished_spools_and_leaves_runs_still_recording(pg_server: str, repo: GitRepo) -> None:
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    keydir = repo.root / ".agentctl"
    unreachable = f"postgresql://agentctl@127.0.0.1:{_closed_port()}/team"
    recorder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "agentctl"])
    try:
        done = _spool(keydir, unreachable, "r-done", os.getpid() + 10**6, finished=True)
        live = _spool(keydir, unreachable, "r-live", recorder.pid, finished=False)
        url = new_database(pg_server)
        synced = cli(repo, "store", "sync", store=url)
        assert synced.returncode == 0, synced.stderr
        assert "synced 1 of 2 spool files" in synced.stdout
        assert f"{live}: still being recorded" in synced.stderr
    finally:
        recorder.kill()
        recorder.wait()
    assert not done.exists() and live.exists()
    shown = json.loads(cli(repo, "runs", "show", "r-done", "--json", store=url).stdout)
    assert (shown["run"]["status"], shown["record"]["state"], len(shown["events"])) == ("completed", "verified", 3)
    # The recorder is gone now: the next sync pushes its run as the interrupted run it is.
    again = cli(repo, "store", "sync", store=url)
    assert "synced 1 of 1 spool files" in again.stdout, again.stderr
    listed = {r["run_id"]: r["status"] for r in json.loads(cli(repo, "runs", "list", "--json", store=url).stdout)}
    assert listed == {"r-done": "completed", "r-live": "interrupted"}
    assert json.loads(cli(repo, "trust", "--format", "json", store=url).stdout)["history"]["verified"] is True


def test_importing_a_sqlite_file_that_is_not_a_run_store_is_refused_untouched(pg_server: str, repo: GitRepo) -> None:
    other = repo.root / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    before = other.read_bytes()
    refused = cli(repo, "runs", "import", str(other), store=new_database(pg_server))
    assert refused.returncode == 2 and "is not an agentctl run store" in refused.stderr
    assert "hint:" in refused.stderr and "Traceback" not in refused.stderr
    assert other.read_bytes() == before


def test_store_sync_needs_a_server_store(repo: GitRepo) -> None:
    out = cli(repo, "store", "sync")
    assert out.returncode == 2 and "no server store configured" in out.stderr and "hint:" in out.stderr
