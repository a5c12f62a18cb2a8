"""One store suite, run against SQLite and a real PostgreSQL cluster alike.

Records are written through the store as ``agentctl run`` writes them (the
writer thread, the seals, the ledger) and read back through the installed
``agentctl`` binary with ``AGENTCTL_STORE`` pointing at the backend.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from agentctl.model.run import AgentEvent, EventKind
from agentctl.store import schema
from agentctl.store.sqlite import SCHEMA_VERSION, RunRecord, Store, StoreError
from agentctl.store.writer import EventWriter
from tests.conftest import GitRepo, agentctl_binary
from tests.store.conftest import new_database

LEGACY = Path(__file__).with_name("legacy_v1_schema.sql")
CURRENT = schema.VERSION
HUMAN = {"CI": "", "GITHUB_ACTOR": "", "GITLAB_USER_LOGIN": "", "AGENTCTL_RUN_ID": "", "AGENTCTL_GATE_SOCKET": ""}


def open_store(url: str, keydir: Path) -> Store:
    """``url`` as ``AGENTCTL_STORE`` holds it; the repository's key lives in ``keydir``."""
    if url.startswith("sqlite:///"):
        return Store(Path(url[len("sqlite:///") :]), None)
    return Store(keydir / "agentctl.db", url)


def record(store: Store, url: str | None, run_id: str, events: int) -> None:
    store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time(), pid=os.getpid()))
    writer = EventWriter(store.path, url)
    for seq in range(1, events + 1):
        event = AgentEvent(EventKind.TOOL_START, time.time(), tool_name="Bash", tool_input={"command": f"ls {seq}"})
        writer.append(run_id, seq, "tool_start", event.at, json.dumps(event.to_record()), {"tool_calls": seq})
    writer.close()
    store.update_run(run_id, status="completed", ended_at=time.time(), exit_code=0, verdict="passed", findings=[])


def _writer_process(url: str, keydir: str, prefix: str, runs: int, events: int) -> None:
    store = open_store(url, Path(keydir))
    server = None if url.startswith("sqlite:///") else url
    for n in range(runs):
        record(store, server, f"{prefix}-{n:04d}", events)
    store.close()


def server_url(url: str) -> str | None:
    return None if url.startswith("sqlite:///") else url


def test_a_recorded_run_reads_back_sealed_and_verified(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    record(store, server_url(store_url), "r-one", events=7)
    run = store.get_run("r-one")
    assert (run.status, run.tool_calls, run.verdict, run.exit_code) == ("completed", 7, "passed", 0)
    assert [e["tool_input"]["command"] for e in store.events("r-one")] == [f"ls {n}" for n in range(1, 8)]
    assert store.verify("r-one").state == "verified"
    assert store.verify_ledger() == []
    assert store.schema_version() == CURRENT
    store.close()


def test_a_forged_event_is_detected_on_either_backend(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    record(store, server_url(store_url), "r-forged", events=4)
    store.db.execute("UPDATE events SET payload = ? WHERE run_id = ? AND seq = ?", ('{"kind":"text"}', "r-forged", 2))
    assert (
        store.verify(
            "r-forged",
        ).state
        != "verified"
    )
    store.close()


def test_concurrent_writers_lose_and_duplicate_nothing(store_url: str, tmp_path: Path) -> None:
    keydir = tmp_path / "keys"
    open_store(store_url, keydir).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer_process, args=(store_url, str(keydir), f"w{i}", 6, 15)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = open_store(store_url, keydir)
    runs = store.all_runs()
    assert len(runs) == 24
    assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 24 * 15
    assert {r.tool_calls for r in runs} == {15}
    assert store.verify_ledger() == []
    assert {i.state for i in store.verify_all(runs, full=True).values()} == {"verified"}
    store.close()


def test_the_cli_reads_the_backend_named_by_agentctl_store(store_url: str, repo: GitRepo) -> None:
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    store = open_store(store_url, repo.root / ".agentctl")
    record(store, server_url(store_url), "r-cli", events=3)
    store.close()
    env = {**os.environ, **HUMAN, "AGENTCTL_STORE": store_url}
    listed = subprocess.run(
        [agentctl_binary(), "runs", "list", "--json"], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == ["r-cli"]
    shown = subprocess.run(
        [agentctl_binary(), "runs", "show", "r-cli", "--json"], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert json.loads(shown.stdout)["record"]["state"] == "verified"


def test_an_unreachable_server_is_a_one_line_error_without_the_password(repo: GitRepo, pg_server: str) -> None:
    port = pg_server.rsplit(":", 1)[1]
    url = f"postgresql://agentctl:s3cret-pw@127.0.0.1:{int(port) + 1}/nowhere"
    env = {**os.environ, **HUMAN, "AGENTCTL_STORE": url}
    out = subprocess.run(
        [agentctl_binary(), "runs", "show", "x"], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "s3cret-pw" not in out.stdout + out.stderr
    assert "hint:" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(StoreError) as caught:
        Store(repo.root / ".agentctl" / "agentctl.db", url)
    assert "s3cret-pw" not in str(caught.value) and "***" in str(caught.value)


def test_a_store_created_by_the_previous_version_migrates_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "agentctl.db"
    with sqlite3.connect(path) as old:
        old.executescript(LEGACY.read_text())
        old.execute("INSERT INTO meta(key, value) VALUES ('schema', '1')")
        old.execute(
            "INSERT INTO runs (id, agent, status, started_at, command, limits) VALUES (?, ?, ?, ?, ?, ?)",
            ("r-old", "codex", "completed", 1700000000.5, '["codex"]', "{}"),
        )
        old.execute("INSERT INTO events VALUES ('r-old', 1, 1700000001.0, 'text', '{\"kind\": \"text\"}', NULL)")
    store = Store(path, None)
    assert store.schema_version() == CURRENT
    run = store.get_run("r-old")
    assert (run.agent, run.command, run.started_at) == ("codex", ["codex"], 1700000000.5)
    assert list(store.events("r-old")) == [{"kind": "text"}]
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "model_requests" in tables
    assert store.migrate() == (CURRENT, CURRENT)
    store.close()


def cli(repo: GitRepo, *args: str, store: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **HUMAN}
    if store:
        env["AGENTCTL_STORE"] = store
    return subprocess.run([agentctl_binary(), *args], cwd=repo.root, env=env, capture_output=True, text=True)


def test_store_status_and_migrate_on_either_backend(store_url: str, repo: GitRepo) -> None:
    before = json.loads(cli(repo, "--store", store_url, "store", "status", "--json").stdout)
    assert (before["exists"], before["version"], before["current_version"]) == (False, None, CURRENT)
    assert before["backend"] == ("sqlite" if store_url.startswith("sqlite") else "postgresql")
    migrated = cli(repo, "--store", store_url, "store", "migrate")
    assert migrated.returncode == 0 and f"none -> {CURRENT}" in migrated.stdout, migrated.stderr
    assert "already current" in cli(repo, "store", "migrate", store=store_url).stdout
    after = json.loads(cli(repo, "store", "status", "--json", store=store_url).stdout)
    assert (after["exists"], after["version"], after["runs"]) == (True, CURRENT, 0)


def test_store_status_reports_a_legacy_store_and_migrate_upgrades_it(repo: GitRepo) -> None:
    path = repo.root / ".agentctl" / "agentctl.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as old:
        old.executescript(LEGACY.read_text())
        old.execute("INSERT INTO meta(key, value) VALUES ('schema', '1')")
        old.execute("INSERT INTO runs (id, agent, status, started_at) VALUES ('r-old', 'claude', 'completed', 1.0)")
    status = cli(repo, "store", "status")
    assert "schema version 1" in status.stdout and "agentctl store migrate" in status.stdout
    assert f"1 -> {CURRENT}" in cli(repo, "store", "migrate").stdout
    assert json.loads(cli(repo, "store", "status", "--json").stdout)["runs"] == 1


def test_store_status_never_prints_the_password(repo: GitRepo, pg_server: str) -> None:
    url = new_database(pg_server).replace("agentctl@", "agentctl:hunter2-pw@")
    out = cli(repo, "store", "status", store=url)
    assert out.returncode == 0, out.stderr
    assert "hunter2-pw" not in out.stdout + out.stderr and "agentctl:***@" in out.stdout


def test_the_schema_module_and_the_hot_path_agree() -> None:
    from dataclasses import fields

    assert int(SCHEMA_VERSION) == schema.VERSION
    assert {f.name for f in fields(RunRecord)} == set(schema.column_names("runs"))


@pytest.mark.parametrize(
    ("remote", "identity"),
    [
        ("git@github.com:Acme/App.git", "github.com/Acme/App"),
        ("https://x-token:ghp_secret@GitHub.com/Acme/App.git/", "github.com/Acme/App"),
        ("ssh://git@github.com:22/Acme/App", "github.com/Acme/App"),
        ("https://gitlab.example.com:8443/group/sub/app", "gitlab.example.com:8443/group/sub/app"),
        ("/srv/git/app.git", "srv/git/app"),
    ],
)
def test_remote_urls_normalise_to_one_identity_without_credentials(remote: str, identity: str) -> None:
    from agentctl.store.identity import normalise

    assert normalise(remote) == identity


def _clone(origin: Path, dest: Path) -> GitRepo:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True, capture_output=True)
    return GitRepo(dest)


def test_two_clones_share_one_history_and_other_repositories_stay_apart(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "seed").mkdir()
    (tmp_path / "other").mkdir()
    seed = GitRepo(tmp_path / "seed")
    seed.write(".gitignore", ".agentctl/\n")
    seed.commit("init")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.root), str(origin)], check=True, capture_output=True)
    first, second = _clone(origin, tmp_path / "ci-runner-1"), _clone(origin, tmp_path / "ci-runner-2")
    other = GitRepo(tmp_path / "other")
    other.write(".gitignore", ".agentctl/\n")
    other.commit("init")
    shared_key: Path | None = None
    for n, repo in enumerate((first, second, other)):
        store = open_store(store_url, repo.root / ".agentctl")
        key = store.path.parent / "store.key"
        if shared_key is not None and key != shared_key:  # the team shares the first key (README: store backends)
            key.parent.mkdir(exist_ok=True)
            shutil.copy(shared_key, key)
        store.create_run(
            RunRecord(id=f"r-{n}", agent="claude", status="running", started_at=time.time(), repo_root=str(repo.root))
        )
        store.update_run(f"r-{n}", status="completed", ended_at=time.time(), exit_code=0, verdict="passed")
        store.update_run(f"r-{n}", changed_paths=["src/app.py"], findings=[])
        store.close()
        shared_key = key
    for repo in (first, second):
        listed = cli(repo, "runs", "list", "--json", store=store_url)
        assert sorted(r["run_id"] for r in json.loads(listed.stdout)) == ["r-0", "r-1"], listed.stderr
        trust = json.loads(cli(repo, "trust", "--format", "json", store=store_url).stdout)
        assert (trust["records"]["verified"], trust["records"]["failed"]) == (2, [])
        assert trust["history"]["verified"] is True
    everything = cli(second, "runs", "list", "--json", "--all-repos", store=store_url)
    assert sorted(r["run_id"] for r in json.loads(everything.stdout)) == ["r-0", "r-1", "r-2"]
    alone = json.loads(cli(other, "runs", "list", "--json", store=store_url).stdout)
    assert [r["run_id"] for r in alone] == ["r-2"]
    # runs verdict, trust and score read this repository's runs too; --all-repos reads across repositories.
    verdict = cli(first, "runs", "verdict", "r-1", store=store_url)  # the other clone's run: same repository
    assert (verdict.returncode, verdict.stdout) == (0, "passed\n"), verdict.stderr
    elsewhere = cli(other, "runs", "verdict", "r-0", store=store_url)
    assert elsewhere.returncode == 2 and "belongs to another repository" in elsewhere.stderr
    assert "hint: pass --all-repos" in elsewhere.stderr and "Traceback" not in elsewhere.stderr
    assert cli(other, "runs", "verdict", "r-0", "--all-repos", store=store_url).stdout == "passed\n"
    for args, verified in ((), 1), (("--all-repos",), 3):
        trust = json.loads(cli(other, "trust", "--format", "json", *args, store=store_url).stdout)
        assert trust["records"]["verified"] == verified
        score = json.loads(cli(other, "score", "--format", "json", *args, store=store_url).stdout)
        assert _score_runs(score) == verified, score


def _score_runs(report: dict[str, Any]) -> int:
    """How many runs the score read (the evidence of its runs-carry-validation criterion)."""
    [criterion] = [c for c in report["criteria"] if c["id"] == "runs-carry-validation"]
    return int(criterion["evidence"]["runs"])


def test_runs_export_then_import_into_another_backend_is_idempotent(store_url: str, repo: GitRepo) -> None:
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    local = Store(repo.root / ".agentctl" / "agentctl.db", None)
    record(local, None, "r-exp", events=5)
    local.add_approval("r-exp", "alice", "approve", "looked at it")
    local.close()
    bundle = repo.root / ".agentctl" / "bundle.jsonl"
    exported = cli(repo, "runs", "export", "--output", str(bundle))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in bundle.read_text().splitlines()]
    assert lines[0] == {"schema": "agentctl/runs-bundle", "version": 1}
    assert [x["type"] for x in lines[1:]] == ["run"] + ["event"] * 5 + ["approval"]
    assert (repo.root / ".agentctl" / "store.key").read_text().strip() not in bundle.read_text()
    target = store_url if not store_url.startswith("sqlite") else store_url.replace("agentctl.db", "team.db")
    if store_url.startswith("sqlite"):  # the key lives beside a SQLite store: share it as a team would
        shared = Path(target[len("sqlite:///") :]).parent
        shared.mkdir(parents=True)
        shutil.copy(repo.root / ".agentctl" / "store.key", shared / "store.key")
    first = cli(repo, "runs", "import", str(bundle), store=target)
    assert "1 new runs, 5 new events, 1 new approvals" in first.stdout, first.stderr
    again = cli(repo, "runs", "import", str(bundle), store=target)
    assert "0 new runs, 0 new events, 0 new approvals" in again.stdout, again.stderr
    shown = json.loads(cli(repo, "runs", "show", "r-exp", "--json", store=target).stdout)
    assert shown["record"]["state"] == "verified"
    assert len(shown["events"]) == 5
    bad = repo.write("not-a-bundle.jsonl", '{"hello": 1}\n')
    refused = cli(repo, "runs", "import", str(bad), store=target)
    assert refused.returncode == 2 and "hint:" in refused.stderr and "Traceback" not in refused.stderr


def test_the_precompiled_sqlite_ddl_is_the_schema_module_compiled() -> None:
    from agentctl.store import sqlite_ddl

    assert sqlite_ddl.VERSION == schema.VERSION
    assert list(sqlite_ddl.STATEMENTS) == schema.create_statements("sqlite") + schema.index_statements("sqlite")


def test_a_killed_writers_run_is_marked_interrupted_by_the_next_reader(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    writer = subprocess.Popen(["true"])  # stands in for the recording agentctl, gone without finishing
    writer.wait()
    store.create_run(RunRecord(id="r-killed", agent="codex", status="running", started_at=time.time(), pid=writer.pid))
    events = EventWriter(store.path, server_url(store_url))
    events.append("r-killed", 1, "tool_start", time.time(), '{"kind": "tool_start"}', None)
    events.close()
    store.close()
    reader = open_store(store_url, tmp_path / "keys")
    assert reader.mark_orphans() == ["r-killed"]
    run = reader.get_run("r-killed")
    assert (run.status, run.tool_calls) == ("interrupted", 1)
    assert reader.verify("r-killed").state == "verified"
    reader.close()


def test_tls_and_timeouts_in_the_url_pass_through_and_a_dead_peer_is_detected_by_default() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from agentctl.store.postgres import _conninfo

    given = conninfo_to_dict(
        _conninfo("postgresql://ci@db.example:5432/agentctl?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3")
    )
    assert (given["sslmode"], given["sslrootcert"], given["connect_timeout"]) == ("verify-full", "/ca.pem", "3")
    assert (given["keepalives"], given["tcp_user_timeout"]) == ("1", "15000")  # a vanished server: seconds, not hours
    assert "keepalives" not in conninfo_to_dict(_conninfo("postgresql:///?service=agentctl"))  # the service file rules
