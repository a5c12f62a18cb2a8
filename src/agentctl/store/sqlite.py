"""Crash-safe run records in SQLite.

WAL mode with one transaction per event: a run killed at any point is a
complete record up to its last event, and concurrent runs in one repository
(separate processes) never corrupt each other. A run whose recording process
died without finishing it is marked ``interrupted`` by the next command.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from agentctl.model.run import RunStatus
from agentctl.store.errors import StoreError as StoreError
from agentctl.store.integrity import LIVE_FIELDS  # re-exported: callers import it from here
from agentctl.store.location import alive
from agentctl.store.location import configured_url as configured_url
from agentctl.store.location import current_repo as current_repo
from agentctl.store.location import default_path as default_path
from agentctl.store.record import COUNTERS as COUNTERS
from agentctl.store.record import RunRecord as RunRecord
from agentctl.store.sealing import SealedStore
from agentctl.store.writes import put_events

SCHEMA_VERSION = "3"
"""The newest schema this code knows (see :mod:`agentctl.store.schema`, which creates and migrates it)."""

_COLUMNS = {f.name for f in fields(RunRecord)}
_CREATE_COLUMNS = (
    "id",
    "agent",
    "model",
    "status",
    "started_at",
    "cwd",
    "repo_root",
    "base_commit",
    "command",
    "pid",
    "host",
    "limits",
    "trace_id",
    "parent_span_id",
    "started_by",
    "repo_url",
    "default_branch",
)


class Store(SealedStore):
    """The run store: SQLite at ``path``, or PostgreSQL at ``url`` (default: ``AGENTCTL_STORE``'s URL).

    With PostgreSQL, ``path`` still names the local ``.agentctl/`` directory
    whose ``store.key`` seals this repository's records.
    """

    def __init__(
        self, path: Path, url: str | None = None, *, auto_migrate: bool = True, key_dir: Path | None = None
    ) -> None:
        self.path = path
        self.key_dir = key_dir if key_dir is not None else path.parent
        self.url = url if url is not None else configured_url()  # "": SQLite at ``path`` whatever the env says
        self._sealer = None
        self._key_problem = None
        self._heads = {}
        self._names: list[str] | None = None
        self.db: Any
        if self.url:
            from agentctl.store.postgres import Connection, redact

            self.backend = "postgresql"
            self.location = redact(self.url)
            self.db = Connection(self.url)
            if auto_migrate:
                self._ensure_schema()
            return
        self.backend = "sqlite"
        self.location = str(path)
        for attempt in range(40):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
                self.db.execute("PRAGMA busy_timeout=30000")
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                if auto_migrate:
                    self._ensure_schema()
                return
            except sqlite3.OperationalError as exc:
                # Two first runs at once: switching a new file to WAL can fail at once instead of waiting.
                if "locked" not in str(exc) or attempt == 39:
                    raise StoreError(
                        f"cannot open the run store {path}: {exc}", "set AGENTCTL_STORE to a writable path"
                    ) from None
                with contextlib.suppress(sqlite3.Error):
                    self.db.close()
                time.sleep(0.05 + 0.01 * attempt)
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"cannot open the run store {path}: {exc}", "set AGENTCTL_STORE to a writable path"
                ) from None

    def close(self) -> None:
        self.db.close()

    def schema_version(self) -> int | None:
        """The store's schema version (``None``: no store yet)."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except (sqlite3.Error, StoreError):
            return None
        return int(row[0]) if row else None

    def _ensure_schema(self) -> None:
        version = self.schema_version()
        if version is None and self.backend == "sqlite":
            self._create_sqlite()
            version = self.schema_version()
        if version is None or version < int(SCHEMA_VERSION):
            self.migrate()

    def _create_sqlite(self) -> None:
        """A new SQLite store from the precompiled DDL (no SQLAlchemy import on a run's start-up)."""
        from agentctl.store import sqlite_ddl

        with self._transaction():
            if self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone():
                return  # an older store (or another process won the race): migrate() handles it
            for statement in sqlite_ddl.STATEMENTS:
                self.db.execute(statement)
            self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(sqlite_ddl.VERSION),))

    def migrate(self) -> tuple[int | None, int]:
        """Create the tables or bring an older store forward (no row is lost); returns (before, after)."""
        from agentctl.store import schema

        with self._transaction():
            for statement in schema.create_statements(self.backend):
                self.db.execute(statement)  # IF NOT EXISTS: a no-op on a store that has them
            before = self.schema_version()
            if before is not None and before >= schema.VERSION:
                return before, before
            for statement in schema.add_column_statements(self.backend, self._table_columns):
                self.db.execute(statement)
            for statement in schema.index_statements(self.backend):
                self.db.execute(statement)
            self.db.execute("DELETE FROM meta WHERE key = 'schema'")
            self.db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(schema.VERSION),))
        self._names = None
        return before, schema.VERSION

    def _table_columns(self, table: str) -> set[str]:
        if self.backend == "postgresql":
            query = (
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?"
            )
            return {str(r[0]) for r in self.db.execute(query, (table,)).fetchall()}
        return {str(r[1]) for r in self.db.execute(f"PRAGMA table_info({table})").fetchall()}

    # -- writing ---------------------------------------------------------
    def create_run(self, run: RunRecord) -> None:
        """A new run; the same run created again (a retry) is a no-op, a different one under its id an error."""
        with self._transaction():
            if self._insert_run(run):
                self._reseal(run.id)
                self._append_ledger(run.id, run.started_at)

    def _insert_run(self, run: RunRecord) -> bool:
        if run.repo_url is None and run.repo_root:
            from agentctl.store import identity

            run.repo_url, run.default_branch = identity.of(Path(run.repo_root))
        run.host = run.host or socket.gethostname()
        values = dict(
            zip(
                _CREATE_COLUMNS,
                (
                    run.id,
                    run.agent,
                    run.model,
                    run.status,
                    run.started_at,
                    run.cwd,
                    run.repo_root,
                    run.base_commit,
                    json.dumps(run.command),
                    run.pid,
                    run.host,
                    json.dumps(run.limits),
                    run.trace_id,
                    run.parent_span_id,
                    run.started_by,
                    run.repo_url,
                    run.default_branch,
                ),
                strict=True,
            )
        )
        marks = ", ".join("?" * len(values))
        inserted = self.db.execute(
            f"INSERT OR IGNORE INTO runs ({', '.join(values)}) VALUES ({marks})", tuple(values.values())
        )
        if inserted.rowcount:
            return True
        from agentctl.store.writes import check_same

        stored = self.db.execute(f"SELECT {', '.join(values)} FROM runs WHERE id = ?", (run.id,)).fetchone()
        mutable = ("status", "model")  # a retry may come after the run moved on
        check_same(
            f"run {run.id}",
            {k: v for k, v in zip(values, stored, strict=True) if k not in mutable},
            {k: v for k, v in values.items() if k not in mutable},
        )
        return False

    def append_event(
        self, run_id: str, seq: int, kind: str, at: float, payload: str, counters: dict[str, Any] | None = None
    ) -> None:
        """One event (already serialised and redacted); with ``counters``, the run's totals in the same transaction."""
        with self._transaction():
            put_events(self.db, [(run_id, seq, at, kind, payload, self.chain_event(run_id, seq, at, kind, payload))])
            if counters is not None:
                self._update(run_id, counters)

    def add_model_request(self, run_id: str, record: dict[str, Any]) -> None:
        """One request the model gateway forwarded, as a ``model_requests`` row (an index: the event is the record)."""
        from agentctl.store import model_requests

        model_requests.insert(self.db, run_id, record)

    def model_requests(self, run_id: str) -> list[dict[str, Any]]:
        from agentctl.store import model_requests

        return model_requests.for_run(self.db, run_id)

    def update_run(self, run_id: str, **fields: Any) -> None:
        with self._transaction():
            self._update(run_id, fields)

    def _update(self, run_id: str, fields: dict[str, Any]) -> None:
        unknown = set(fields) - _COLUMNS | ({"mac"} & set(fields))
        if unknown:
            raise ValueError(f"not run columns: {sorted(unknown)}")
        encoded = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in fields.items()}
        columns = ", ".join(f"{k} = ?" for k in encoded)
        if set(fields) <= LIVE_FIELDS and self._update_live(run_id, encoded):
            return
        # Re-seal only a record whose seal still holds: a tampered one stays detectably broken.
        before = self._fields(run_id)
        heads = self._heads_of(run_id, before) if before is not None and before.get("mac") else None
        holds = self._seal_holds(run_id, before, heads)
        finishing = before is not None and before["status"] == RunStatus.RUNNING.value
        if holds and finishing and fields.get("status", RunStatus.RUNNING.value) != RunStatus.RUNNING.value:
            holds = self._chain_holds(run_id)  # the first seal over the events: only over an intact chain
        self.db.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*encoded.values(), run_id))
        if holds:
            self._reseal(run_id, heads)

    def _update_live(self, run_id: str, fields: dict[str, Any]) -> bool:
        """A running run's totals (outside its seal until it finishes: no seal work per flush); False: not running."""
        live = self.db.execute(
            f"UPDATE runs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ? AND status = ?",
            (*fields.values(), run_id, RunStatus.RUNNING.value),
        )
        return bool(live.rowcount)

    @contextlib.contextmanager
    def _transaction(self, *, serial: bool = True) -> Iterator[None]:
        """``serial=False`` (PostgreSQL): no store-wide writer lock, for writes that touch one run's own rows
        (its events, its live totals); SQLite has one writer at a time regardless."""
        self.db.execute("BEGIN IMMEDIATE" if serial or self.backend == "sqlite" else "BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def mark_orphans(self) -> list[str]:
        """Runs still 'running' whose recording process is gone become 'interrupted'.

        On this host the process id tells; on PostgreSQL also the run's session lock, which the recording
        ``agentctl run`` holds on its connection (any host: the server drops it with the connection).
        """
        host = socket.gethostname()
        rows = self.db.execute("SELECT id, pid, host FROM runs WHERE status = ?", (RunStatus.RUNNING.value,)).fetchall()
        locks = self.backend == "postgresql"
        orphans = [
            run_id
            for run_id, pid, run_host in rows
            if (run_host == host or locks)
            and not (run_host == host and alive(pid))
            and (not locks or self.db.recorder_gone(run_id))
        ]
        if orphans and self.sealer(create=False) is None:
            # Without the key a sealed record cannot be re-sealed: leave those to a command that has it.
            sealed = {r[0] for r in self.db.execute("SELECT id FROM runs WHERE mac IS NOT NULL")}
            orphans = [run_id for run_id in orphans if run_id not in sealed]
        for run_id in orphans:
            last = self.db.execute("SELECT MAX(at) FROM events WHERE run_id = ?", (run_id,)).fetchone()[0]
            self.update_run(
                run_id,
                status=RunStatus.INTERRUPTED.value,
                stop_reason="agentctl was killed before it could finish the record",
                ended_at=last,
                **self.recount(run_id),
            )
        return orphans

    def recount(self, run_id: str) -> dict[str, Any]:
        """Tool-call counters rebuilt from the events (totals are flushed in batches)."""
        counts = dict(
            self.db.execute(
                "SELECT kind || CASE WHEN kind = 'tool_end' AND payload LIKE '%\"ok\": false%'"
                " THEN ':fail' ELSE '' END, COUNT(*) FROM events WHERE run_id = ? GROUP BY 1",
                (run_id,),
            ).fetchall()
        )
        return {"tool_calls": counts.get("tool_start", 0), "tool_errors": counts.get("tool_end:fail", 0)}

    # -- reading ---------------------------------------------------------
    def get_run(self, ident: str, repo: str | None = None) -> RunRecord:
        """The run ``ident`` (or the one run whose id starts so); with ``repo``, only among that repository's."""
        where, params = _repo_filter(repo)
        rows = self.db.execute(
            f"SELECT * FROM runs{where}{' AND' if where else ' WHERE'} (id = ? OR id LIKE ?) ORDER BY started_at",
            (*params, ident, f"{ident}%"),
        ).fetchall()
        exact = [r for r in rows if r[0] == ident]
        if exact:
            rows = exact
        if not rows and repo and self.db.execute("SELECT 1 FROM runs WHERE id LIKE ?", (f"{ident}%",)).fetchone():
            raise StoreError(
                f"run '{ident}' in {self.location} belongs to another repository than {repo}",
                "pass --all-repos to read runs of every repository in a shared store",
            )
        if not rows:
            raise StoreError(f"no run '{ident}' in {self.location}", "list runs with: agentctl runs list")
        if len(rows) > 1:
            raise StoreError(f"'{ident}' matches {len(rows)} runs", "give more characters of the run id")
        return self._record(rows[0])

    def approvals(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Every approval row as stored, believed or not (use :meth:`verify` for the ones to believe)."""
        return self._approval_rows(run_id)

    def all_runs(self, repo: str | None = None) -> list[RunRecord]:
        """Every run, or with ``repo`` only that repository's (and runs recorded before identities)."""
        where, params = _repo_filter(repo)
        rows = self.db.execute(f"SELECT * FROM runs{where} ORDER BY started_at", params).fetchall()
        return [self._record(r) for r in rows]

    def pending_exports(self, limit: int = 50) -> list[RunRecord]:
        rows = self.db.execute(
            "SELECT * FROM runs WHERE export_state = 'pending' AND status != ? ORDER BY started_at LIMIT ?",
            (RunStatus.RUNNING.value, limit),
        ).fetchall()
        return [self._record(r) for r in rows]

    def list_runs(self, limit: int = 50, repo: str | None = None) -> list[RunRecord]:
        where, params = _repo_filter(repo)
        rows = self.db.execute(
            f"SELECT * FROM runs{where} ORDER BY started_at DESC LIMIT ?", (*params, limit)
        ).fetchall()
        return [self._record(r) for r in rows]

    def events(self, run_id: str) -> Iterator[dict[str, Any]]:
        for (payload,) in self.db.execute("SELECT payload FROM events WHERE run_id = ? ORDER BY seq", (run_id,)):
            yield json.loads(payload)

    def _record(self, row: tuple[Any, ...]) -> RunRecord:
        if self._names is None:
            self._names = [d[0] for d in self.db.execute("SELECT * FROM runs LIMIT 0").description]
        values = dict(zip(self._names, row, strict=True))
        for key in ("command", "limits", "findings", "changed_paths"):
            values[key] = json.loads(values[key]) if values.get(key) else ([] if key != "limits" else {})
        return RunRecord(**{k: v for k, v in values.items() if v is not None or k in ("model", "session_id")})


def __getattr__(name: str) -> Any:
    """``EventWriter`` moved to :mod:`agentctl.store.writer`; old imports keep working."""
    if name == "EventWriter":
        from agentctl.store.writer import EventWriter

        return EventWriter
    raise AttributeError(name)


def _repo_filter(repo: str | None) -> tuple[str, tuple[str, ...]]:
    return (" WHERE (repo_url = ? OR repo_url IS NULL)", (repo,)) if repo else ("", ())
