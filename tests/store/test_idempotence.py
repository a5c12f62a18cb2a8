"""Retried writes are stored once; a different record under a stored key is refused. SQLite and PostgreSQL alike.

A CI job's connection can drop after the server committed a batch but before
the client heard so: the batch is sent again. It must not be rejected (a lost
run) nor stored twice (a duplicated event), and a writer that sends something
else under the same key must not be silently ignored either.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writer import EventWriter
from agentctl.store.writes import IntegrityError
from tests.store.conftest import new_database
from tests.store.test_backends import CURRENT, LEGACY, open_store, record, server_url

GATEWAY_RECORD = {
    "id": 1,
    "provider": "anthropic",
    "path": "/v1/messages",
    "model_requested": "claude-sonnet-4-5",
    "model_answered": "claude-sonnet-4-5-20250929",
    "response_id": "msg_01",
    "status": 200,
    "attempt": 1,
    "started": 1700000000.25,
    "first_byte": 1700000000.5,
    "ended": 1700000001.75,
    "usage": {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 0, "cache_write_tokens": 0},
    "cost_usd": 0.0048,
    "stop_reason": "end_turn",
}


def _events(store: Store, run_id: str) -> list[tuple[object, ...]]:
    return list(
        store.db.execute("SELECT seq, at, kind, payload, mac FROM events WHERE run_id = ? ORDER BY seq", (run_id,))
    )


def test_a_retried_event_batch_is_stored_once_and_still_verifies(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    record(store, server_url(store_url), "r-retry", events=6)
    before = _events(store, "r-retry")
    # A new writer (as after a reconnect) sends events 3..6 again, exactly as they were meant.
    again = EventWriter(store.path, server_url(store_url) or "", key_dir=store.key_dir)
    for seq, at, kind, payload, _ in before[2:]:
        again.append("r-retry", int(seq), str(kind), float(at), str(payload), None)  # type: ignore[arg-type]
    again.close()
    store.append_event("r-retry", 6, str(before[5][2]), float(before[5][1]), str(before[5][3]))  # type: ignore[arg-type]
    assert _events(store, "r-retry") == before
    assert store.verify("r-retry").state == "verified"
    store.close()


def test_a_different_event_under_a_stored_key_is_an_integrity_error(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    record(store, server_url(store_url), "r-clash", events=3)
    before = _events(store, "r-clash")
    with pytest.raises(IntegrityError, match="event 2 of run r-clash is already stored with different content"):
        store.append_event("r-clash", 2, "tool_start", time.time(), '{"kind": "tool_start", "forged": true}')
    writer = EventWriter(store.path, server_url(store_url) or "", key_dir=store.key_dir)
    writer.append("r-clash", 3, "text", time.time(), '{"kind": "text"}', None)
    with pytest.raises(Exception, match="already stored with different content"):
        writer.close()
    assert _events(store, "r-clash") == before
    assert store.verify("r-clash").state == "verified"
    store.close()


def test_a_retried_run_creation_is_stored_once(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    run = RunRecord(id="r-twice", agent="codex", status="running", started_at=1700000000.5, pid=os.getpid())
    store.create_run(run)
    store.create_run(RunRecord(**{**vars(run)}))
    assert store.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    assert store.db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 1
    assert store.verify_ledger() == []
    assert store.verify("r-twice").state == "verified"
    with pytest.raises(IntegrityError, match=r"run r-twice is already stored with different content .*agent"):
        store.create_run(RunRecord(id="r-twice", agent="claude", status="running", started_at=1700000000.5))
    assert store.get_run("r-twice").agent == "codex"
    store.close()


def test_a_retried_approval_is_stored_once_and_a_changed_one_refused(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    record(store, server_url(store_url), "r-ok", events=2)
    approval = store.add_approval("r-ok", "alice", "approve", "reviewed the plan")
    assert store.put_approval(dict(approval)) is False
    with pytest.raises(IntegrityError, match="approval of run r-ok by alice"):
        store.put_approval({**approval, "reason": "something else"})
    assert [a["reason"] for a in store.approvals("r-ok")] == ["reviewed the plan"]
    assert store.verify("r-ok").state == "verified"
    store.close()


def test_model_requests_are_stored_on_either_backend(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path / "keys")
    record(store, server_url(store_url), "r-gw", events=1)
    store.add_model_request("r-gw", GATEWAY_RECORD)
    store.add_model_request("r-gw", GATEWAY_RECORD)  # the gateway's record written again: one row
    store.add_model_request("r-gw", {**GATEWAY_RECORD, "id": 2, "response_id": "msg_02"})
    rows = store.model_requests("r-gw")
    assert [(r["request"], r["response_id"]) for r in rows] == [(1, "msg_01"), (2, "msg_02")]
    assert (rows[0]["output_tokens"], rows[0]["cost_usd"], rows[0]["started_at"]) == (80, 0.0048, 1700000000.25)
    by_model = store.db.execute(
        "SELECT model_answered, SUM(output_tokens) FROM model_requests GROUP BY model_answered"
    ).fetchall()
    assert [tuple(r) for r in by_model] == [("claude-sonnet-4-5-20250929", 160)]
    store.close()


def test_an_old_sqlite_store_with_gateway_rows_keeps_them_through_migration(tmp_path: Path) -> None:
    path = tmp_path / "agentctl.db"
    with sqlite3.connect(path) as old:
        old.executescript(LEGACY.read_text())
        # the table as the gateway created it on its own before it joined the schema (REAL, not FLOAT)
        old.execute(
            "CREATE TABLE model_requests (run_id TEXT NOT NULL, request INTEGER NOT NULL, provider TEXT,"
            " model_answered TEXT, output_tokens INTEGER, cost_usd REAL, PRIMARY KEY (run_id, request))"
        )
        old.execute("INSERT INTO meta(key, value) VALUES ('schema', '1')")
        old.execute("INSERT INTO model_requests VALUES ('r-old', 1, 'openai', 'gpt-5.5', 42, 0.5)")
    store = Store(path, None)
    assert store.schema_version() == CURRENT
    [row] = store.model_requests("r-old")
    assert (row["provider"], row["model_answered"], row["output_tokens"], row["cost_usd"]) == (
        "openai",
        "gpt-5.5",
        42,
        0.5,
    )
    store.add_model_request("r-new", GATEWAY_RECORD)  # the columns the old table lacked were added
    assert store.model_requests("r-new")[0]["first_byte_at"] == 1700000000.5
    store.close()


def test_a_writer_whose_server_connection_drops_resends_and_stores_once(pg_server: str, tmp_path: Path) -> None:
    """The server ends the writer's session between two batches: the writer reconnects, nothing is lost or doubled."""
    import psycopg

    from agentctl.store.spool import Mirror

    url = new_database(pg_server)
    keydir = tmp_path / "keys"
    local = Store(keydir / "spool.db", "", key_dir=keydir)
    mirror = Mirror(url, keydir)
    remote = mirror.connect()
    run = RunRecord(id="r-drop", agent="claude", status="running", started_at=time.time(), pid=os.getpid())
    local.create_run(run)
    remote.create_run(run)
    writer = EventWriter(local.path, "", key_dir=keydir, mirror=mirror)
    for seq in range(1, 4):
        writer.append("r-drop", seq, "text", time.time(), json.dumps({"kind": "text", "n": seq}), None)
    writer.flush()
    with psycopg.connect(url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
    assert killed
    for seq in range(4, 8):
        writer.append("r-drop", seq, "text", time.time(), json.dumps({"kind": "text", "n": seq}), {"turns": seq})
    writer.close()
    assert mirror.error is None
    remote = mirror.connect()
    assert _events(remote, "r-drop") == _events(local, "r-drop")
    assert len(_events(remote, "r-drop")) == 7
    remote.update_run("r-drop", status="completed", ended_at=time.time())
    assert remote.verify("r-drop").state == "verified"
    remote.close()
    local.close()
