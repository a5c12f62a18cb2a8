"""The PostgreSQL backend: a psycopg 3 connection that speaks the store's (SQLite-flavoured) SQL.

The store's statements are written once with ``?`` placeholders; this module
translates the few SQLite spellings (placeholders, ``INSERT OR IGNORE/REPLACE``,
``rowid``, ``BEGIN IMMEDIATE``) for PostgreSQL. Writers serialise on one
transaction-scoped advisory lock, as SQLite's ``BEGIN IMMEDIATE`` does: the
ledger's chain needs one writer at a time and no writer can deadlock another.

Credentials come only from the URL the user set in the environment, ``.pgpass``
or a libpq service file; :func:`redact` keeps any password out of every message.
"""

from __future__ import annotations

import re
from typing import Any

from agentctl.store.errors import StoreError, StoreUnavailable

LOCK_KEY = 0x61677463  # "agtc": the store's writer lock
RUN_LOCKS = 0x61677472  # "agtr": with a hash of the run id, the session lock of a run being recorded


def run_lock(run_id: str) -> tuple[int, int]:
    """The two int4 keys of a run's session lock (a separate key space from the writer lock's one bigint)."""
    import zlib

    crc = zlib.crc32(run_id.encode())
    return RUN_LOCKS, crc - (1 << 32) if crc >= 1 << 31 else crc


_CONFLICT_KEYS = {"meta": ("key",), "model_requests": ("run_id", "request"), "events": ("run_id", "seq")}
_INSERT = re.compile(r"^\s*INSERT OR (IGNORE|REPLACE) INTO (\w+)\s*\(([^)]*)\)(.*)$", re.S | re.I)


def is_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def redact(url: str) -> str:
    """The URL without its password (``postgresql://user:***@host/db``)."""
    url = re.sub(r"^(\w[\w+.-]*://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def translate(sql: str) -> str:
    match = _INSERT.match(sql)
    if match:
        mode, table, columns, rest = match.groups()
        keys = _CONFLICT_KEYS.get(table, ())
        names = [c.strip() for c in columns.split(",")]
        if mode.upper() == "IGNORE" or not keys:
            tail = " ON CONFLICT DO NOTHING"
        else:
            updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in keys)
            tail = f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        sql = f"INSERT INTO {table} ({columns}){rest}{tail}"
    sql = re.sub(r"\browid\b", "ctid", sql)
    return sql.replace("%", "%%").replace("?", "%s")


class _Empty:
    rowcount = 0
    description: list[Any] = []

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []

    def __iter__(self) -> Any:
        return iter(())


class _Count:
    """What ``executemany`` reports: rows affected, summed over the parameter sets."""

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


class Connection:
    """The subset of :class:`sqlite3.Connection` the store uses, over psycopg."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._errors = psycopg.Error
        self._lost = (psycopg.OperationalError, psycopg.InterfaceError)
        try:
            self.conn = psycopg.connect(_conninfo(url), autocommit=True)
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"cannot reach the run store {redact(url)}: {_first_line(exc, url)}",
                "check AGENTCTL_STORE, the server, and credentials in ~/.pgpass or PGPASSWORD",
            ) from None

    def execute(self, sql: str, params: Any = ()) -> Any:
        head = sql.lstrip()[:16].upper()
        try:
            if head.startswith("PRAGMA"):
                return _Empty()
            if head.startswith("BEGIN IMMEDIATE"):
                self.conn.execute("BEGIN")
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                return _Empty()
            if sql.strip().upper() == "BEGIN":  # one run's own rows: no store-wide lock (see Store._transaction)
                self.conn.execute("BEGIN")
                return _Empty()
            if params:
                return self.conn.execute(translate(sql).encode(), params)
            return self.conn.execute(translate(sql).replace("%%", "%").encode())
        except self._errors as exc:
            raise self._error(exc) from None

    def executemany(self, sql: str, rows: Any) -> _Count:
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(translate(sql).encode(), list(rows))
                return _Count(cursor.rowcount)
        except self._errors as exc:
            raise self._error(exc) from None

    def executescript(self, script: str) -> None:
        """Tables are the schema module's business on PostgreSQL: only ``CREATE … IF NOT EXISTS`` is accepted."""
        for statement in filter(str.strip, script.split(";")):
            if "IF NOT EXISTS" not in statement.upper():
                raise StoreError("unexpected schema statement for PostgreSQL", "run: agentctl store migrate")

    def hold_run(self, run_id: str) -> None:
        """Hold the run's session lock while this connection lives: readers on any host see it is recorded."""
        self.execute("SELECT pg_advisory_lock(?, ?)", run_lock(run_id))

    def recorder_gone(self, run_id: str) -> bool:
        """Nobody holds the run's session lock (its recorder died, or recorded without one)."""
        if not self.execute("SELECT pg_try_advisory_lock(?, ?)", run_lock(run_id)).fetchone()[0]:
            return False
        self.execute("SELECT pg_advisory_unlock(?, ?)", run_lock(run_id))
        return True

    def _error(self, exc: BaseException) -> StoreError:
        kind = StoreUnavailable if isinstance(exc, self._lost) else StoreError
        return kind(f"run store {redact(self.url)}: {_first_line(exc, self.url)}", _HINT)

    def close(self) -> None:
        self.conn.close()


_HINT = "check the PostgreSQL server named by AGENTCTL_STORE"


DEAD_PEER = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "15000",
}
"""libpq settings unless the URL (or PG* variables) set them: a server that vanishes without closing the
connection (a partition, a dead host) is an error within seconds, not a run stuck on a socket for hours."""


def _conninfo(url: str) -> str:
    import os

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    given = conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if "service" in given or "PGSERVICE" in os.environ:
        return make_conninfo(url.replace("postgresql+psycopg://", "postgresql://", 1))  # the service file decides
    defaults = {k: v for k, v in DEAD_PEER.items() if k not in given and f"PG{k.upper()}" not in os.environ}
    return make_conninfo(url.replace("postgresql+psycopg://", "postgresql://", 1), **defaults)


def _first_line(exc: BaseException, url: str) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return redact(text.replace(url, redact(url)))
