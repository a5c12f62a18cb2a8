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

from agentctl.store.errors import StoreError

LOCK_KEY = 0x61677463  # "agtc": the store's writer lock
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


class Connection:
    """The subset of :class:`sqlite3.Connection` the store uses, over psycopg."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._errors = psycopg.Error
        try:
            self.conn = psycopg.connect(_libpq(url), autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(
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
            raise StoreError(f"run store {redact(self.url)}: {_first_line(exc, self.url)}", _HINT) from None

    def executemany(self, sql: str, rows: Any) -> None:
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(translate(sql).encode(), list(rows))
        except self._errors as exc:
            raise StoreError(f"run store {redact(self.url)}: {_first_line(exc, self.url)}", _HINT) from None

    def executescript(self, script: str) -> None:
        """Tables are the schema module's business on PostgreSQL: only ``CREATE … IF NOT EXISTS`` is accepted."""
        for statement in filter(str.strip, script.split(";")):
            if "IF NOT EXISTS" not in statement.upper():
                raise StoreError("unexpected schema statement for PostgreSQL", "run: agentctl store migrate")

    def close(self) -> None:
        self.conn.close()


_HINT = "check the PostgreSQL server named by AGENTCTL_STORE"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _first_line(exc: BaseException, url: str) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text.replace(url, redact(url))
