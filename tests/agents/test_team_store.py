"""Two clones of one repository record real agent runs into one PostgreSQL store; trust in either sees both."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import GitRepo, agentctl_binary
from tests.store.conftest import new_database, pg_server  # noqa: F401  (the session's private cluster)


def _clone(origin: Path, dest: Path) -> GitRepo:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True, capture_output=True)
    return GitRepo(dest)


def test_two_clones_share_one_run_history(harness, server_factory, pg_server: str) -> None:  # noqa: F811
    url = new_database(pg_server)
    origin = harness.tmp / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(harness.repo.root), str(origin)], check=True)
    clones = [_clone(origin, harness.tmp / "runner-a"), _clone(origin, harness.tmp / "runner-b")]
    summaries = []
    for clone, agent in zip(clones, ("claude", "codex"), strict=True):
        if clone is clones[1]:  # the team shares the store key (README: store backends)
            (clone.root / ".agentctl").mkdir()
            shutil.copy(clones[0].root / ".agentctl" / "store.key", clone.root / ".agentctl" / "store.key")
        tool = {"tool": "Bash", "input": {"command": "echo hi"}}
        if agent == "codex":
            tool = {"tool": "exec_command", "input": {"cmd": "echo hi"}}
        server = server_factory([tool, {"text": "done"}])
        done = subprocess.run(
            [agentctl_binary(), "--store", url, "run", "--json", "--", *harness.command(agent, "do the task")],
            cwd=clone.root,
            env=harness.env(server),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        summaries.append(json.loads(done.stdout))
        assert not (clone.root / ".agentctl" / "agentctl.db").exists()  # recorded in PostgreSQL, not locally
        assert not list((clone.root / ".agentctl" / "spool").iterdir())  # the server took it all: no spool left
    ids = sorted(s["run_id"] for s in summaries)
    import psycopg

    with psycopg.connect(url) as db:  # the gateway's per-request rows went to PostgreSQL too
        per_run = dict(db.execute("SELECT run_id, COUNT(*) FROM model_requests GROUP BY run_id").fetchall())
    assert sorted(per_run) == ids and min(per_run.values()) >= 2, per_run
    for clone in clones:
        env = {**harness.env(server), "AGENTCTL_STORE": url}
        listed = subprocess.run(
            [agentctl_binary(), "runs", "list", "--json"], cwd=clone.root, env=env, capture_output=True, text=True
        )
        assert sorted(r["run_id"] for r in json.loads(listed.stdout)) == ids, listed.stderr
        trust = subprocess.run(
            [agentctl_binary(), "trust", "--format", "json"], cwd=clone.root, env=env, capture_output=True, text=True
        )
        report = json.loads(trust.stdout)
        assert (report["records"]["verified"], report["records"]["failed"]) == (2, []), trust.stderr
        assert report["history"]["verified"] is True


def _agentctl(clone: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [agentctl_binary(), *args], cwd=clone, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def _closed_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once this socket is closed


def _pushed_in_full(harness, env: dict[str, str], spool: str, run_id: str, events: int) -> None:  # type: ignore[no-untyped-def]
    """Import the spool (twice: the second adds nothing), then the server's record is whole and believed."""
    first = _agentctl(harness.repo.root, env, "runs", "import", spool)
    assert first.returncode == 0, first.stderr
    again = _agentctl(harness.repo.root, env, "runs", "import", spool)
    assert "0 new runs, 0 new events, 0 new approvals" in again.stdout, again.stderr
    shown = json.loads(_agentctl(harness.repo.root, env, "runs", "show", run_id, "--json").stdout)
    assert shown["record"]["state"] == "verified", shown["record"]
    assert len(shown["events"]) == events
    trust = _agentctl(harness.repo.root, env, "trust", "--format", "json")
    report = json.loads(trust.stdout)
    assert (report["records"]["verified"], report["records"]["failed"]) == (1, []), trust.stderr
    assert report["history"]["verified"] is True


def test_a_store_that_cannot_be_reached_never_loses_the_run(harness, server_factory, pg_server: str) -> None:  # noqa: F811
    bad = f"postgresql://agentctl:pw-not-shown@127.0.0.1:{_closed_port()}/team"
    server = server_factory([{"tool": "Bash", "input": {"command": "echo hi"}}, {"text": "done"}])
    done = subprocess.run(
        [agentctl_binary(), "--store", bad, "run", "--json", "--", *harness.command("claude", "do the task")],
        cwd=harness.repo.root,
        env=harness.env(server),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2, done.stderr
    summary = json.loads(done.stdout)  # the run itself went ahead and passed
    assert (summary["status"], summary["exit_code"], summary["tool_calls"]) == ("completed", 0, 1)
    run_id = summary["run_id"]
    spool = f".agentctl/spool/{run_id}.db"
    error, hint = done.stderr.strip().splitlines()[-2:]
    assert error.startswith("agentctl: error: the run store postgresql://agentctl:***@127.0.0.1:"), error
    assert f"recorded locally in {spool} (the run itself: exit 0)" in error
    assert hint == f"hint: when the store is reachable again: agentctl runs import {spool}"
    assert "pw-not-shown" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert (harness.repo.root / spool).is_file()
    url = new_database(pg_server)
    env = {**harness.env(server), "AGENTCTL_STORE": url}
    events = len(
        json.loads(
            _agentctl(harness.repo.root, {**env, "AGENTCTL_STORE": spool}, "runs", "show", run_id, "--json").stdout
        )["events"]
    )
    assert events >= 4
    _pushed_in_full(harness, env, spool, run_id, events)


def test_a_store_that_goes_away_mid_run_loses_nothing(harness, server_factory, pg_server: str) -> None:  # noqa: F811
    import psycopg

    url = new_database(pg_server)
    database = url.rsplit("/", 1)[1]

    def cut_the_store(_body: dict) -> dict:  # type: ignore[type-arg]
        """Called by the model server at the run's second model request: the database stops taking anyone."""
        with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false".encode())
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
        return {"command": "echo after"}

    server = server_factory(
        [
            {"tool": "Bash", "input": {"command": "echo before"}},
            {"tool": "Bash", "input": cut_the_store},
            {"text": "done"},
        ]
    )
    env = {**harness.env(server), "AGENTCTL_STORE": url}
    done = subprocess.run(
        [agentctl_binary(), "run", "--json", "--", *harness.command("claude", "do the task")],
        cwd=harness.repo.root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["status"], summary["tool_calls"]) == ("completed", 2)
    spool = f".agentctl/spool/{summary['run_id']}.db"
    assert f"agentctl runs import {spool}" in done.stderr
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true".encode())
    with psycopg.connect(url) as db:  # the server kept what it took before it went away: the run, as running
        [(status, before)] = db.execute(
            "SELECT status, (SELECT COUNT(*) FROM events WHERE run_id = id) FROM runs"
        ).fetchall()
    assert status == "running" and before >= 1
    # A reader on this host meanwhile marks the half record interrupted; the import still completes it.
    assert _agentctl(harness.repo.root, env, "runs", "list").returncode == 0
    events = len(
        json.loads(
            _agentctl(
                harness.repo.root, {**env, "AGENTCTL_STORE": spool}, "runs", "show", summary["run_id"], "--json"
            ).stdout
        )["events"]
    )
    assert events > before
    imported = _agentctl(harness.repo.root, env, "runs", "import", spool)
    assert "0 new runs" in imported.stdout and "1 runs completed" in imported.stdout, imported.stdout
    _pushed_in_full(harness, env, spool, summary["run_id"], events)
    listed = json.loads(_agentctl(harness.repo.root, env, "runs", "list", "--json").stdout)
    assert [(r["status"], r["tool_calls"]) for r in listed] == [("completed", 2)]


def test_a_killed_run_on_postgresql_is_marked_interrupted_by_the_next_reader(
    harness,
    server_factory,
    pg_server: str,  # noqa: F811
) -> None:
    url = new_database(pg_server)
    server = server_factory([{"tool": "Bash", "input": {"command": "echo before"}}, {"hang": 120}])
    env = {**harness.env(server), "AGENTCTL_STORE": url}
    process = subprocess.Popen(
        [agentctl_binary(), "run", "--grace", "2", "--", *harness.command("claude", "do the task")],
        cwd=harness.repo.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(server.main_loop_requests()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the tool call's events reach the server (batched, not waited for)
    process.kill()
    process.wait(timeout=30)
    listed = _agentctl(harness.repo.root, env, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    assert (run["status"], run["tool_calls"]) == ("interrupted", 1)
    shown = json.loads(_agentctl(harness.repo.root, env, "runs", "show", run["run_id"], "--json").stdout)
    assert shown["record"]["state"] == "verified"
    assert [e["tool_name"] for e in shown["events"] if e["kind"] == "tool_start"] == ["Bash"]
    # The killed run's local spool holds the same record: importing it changes nothing that was right.
    [spool] = (harness.repo.root / ".agentctl" / "spool").glob("*.db")
    imported = _agentctl(harness.repo.root, env, "runs", "import", str(spool))
    assert imported.returncode == 0 and "0 new runs" in imported.stdout, imported.stderr
    again = json.loads(_agentctl(harness.repo.root, env, "runs", "list", "--json").stdout)
    assert [(r["status"], r["tool_calls"]) for r in again] == [("interrupted", 1)]
    assert (
        json.loads(_agentctl(harness.repo.root, env, "runs", "show", run["run_id"], "--json").stdout)["record"]["state"]
        == "verified"
    )
