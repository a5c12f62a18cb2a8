"""The run store's schema, expressed once in SQLAlchemy Core for SQLite and PostgreSQL alike.

Imported only to create or migrate a store (SQLAlchemy's import costs more
than a run's start-up may): the hot path talks to the driver directly with
the column names below. Versions are numbered: a store records its version in
``meta``; :func:`migrate` brings any older store (including the version-1 stores
of agentctl before this module) forward without losing a row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Float, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

VERSION = 3
"""1: the SQLite-only schema; 2: defined here, both backends, ``model_requests`` created with the store;
3: the repository's identity on every run (``repo_url``, ``default_branch``)."""

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("agent", Text, nullable=False),
    Column("model", Text),
    Column("session_id", Text),
    Column("status", Text, nullable=False),
    Column("exit_code", Integer),
    Column("stop_reason", Text),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("cwd", Text),
    Column("repo_root", Text),
    Column("base_commit", Text),
    Column("command", Text),
    Column("pid", Integer),
    Column("host", Text),
    Column("limits", Text),
    Column("input_tokens", Integer, server_default="0"),
    Column("output_tokens", Integer, server_default="0"),
    Column("cache_read_tokens", Integer, server_default="0"),
    Column("cache_write_tokens", Integer, server_default="0"),
    Column("cost_usd", Float, server_default="0"),
    Column("cost_source", Text, server_default="estimate"),
    Column("turns", Integer, server_default="0"),
    Column("tool_calls", Integer, server_default="0"),
    Column("tool_errors", Integer, server_default="0"),
    Column("verdict", Text),
    Column("findings", Text),
    Column("export_state", Text, server_default="pending"),
    Column("trace_id", Text),
    Column("parent_span_id", Text),
    Column("started_by", Text),
    Column("changed_paths", Text),
    Column("end_commit", Text),
    Column("mac", Text),
    Column("sandbox", Text),
    Column("repo_url", Text),
    Column("default_branch", Text),
    Index("runs_started", "started_at"),
    Index("runs_repo", "repo_url", "started_at"),
)

events = Table(
    "events",
    metadata,
    Column("run_id", Text, nullable=False),
    Column("seq", Integer, nullable=False, autoincrement=False),
    Column("at", Float, nullable=False),
    Column("kind", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("mac", Text),
    PrimaryKeyConstraint("run_id", "seq"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("run_id", Text, nullable=False),
    Column("approver", Text, nullable=False),
    Column("decision", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("seq", Integer),
    Column("target", Text),
    Column("covers", Text),
    Column("mac", Text),
)

meta = Table("meta", metadata, Column("key", Text, primary_key=True), Column("value", Text))

ledger = Table(
    "ledger",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("run_id", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("mac", Text, nullable=False),
)

model_requests = Table(
    "model_requests",
    metadata,
    Column("run_id", Text, nullable=False),
    Column("request", Integer, nullable=False, autoincrement=False),
    *(
        Column(name, kind)
        for name, kind in (
            ("provider", Text),
            ("path", Text),
            ("model_requested", Text),
            ("model_answered", Text),
            ("response_id", Text),
            ("status", Integer),
            ("attempt", Integer),
            ("started_at", Float),
            ("first_byte_at", Float),
            ("ended_at", Float),
            ("input_tokens", Integer),
            ("output_tokens", Integer),
            ("cache_read_tokens", Integer),
            ("cache_write_tokens", Integer),
            ("reasoning_tokens", Integer),
            ("cost_usd", Float),
            ("stop_reason", Text),
            ("error_type", Text),
            ("estimated", Integer),
            ("max_tokens_requested", Integer),
            ("max_tokens_sent", Integer),
            ("budget", Text),
        )
    ),
    PrimaryKeyConstraint("run_id", "request"),
    Index("model_requests_model", "model_answered"),
)


def dialect(name: str) -> Dialect:
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.dialect()  # type: ignore[no-untyped-call]
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


def create_statements(name: str) -> list[str]:
    """Every table, ``IF NOT EXISTS``, in the dialect's SQL (double precision for floats on both)."""
    d = dialect(name)
    return [str(CreateTable(t, if_not_exists=True).compile(dialect=d)).strip() for t in metadata.sorted_tables]


def index_statements(name: str) -> list[str]:
    """Every index, ``IF NOT EXISTS`` (after the columns they cover exist)."""
    d = dialect(name)
    out: list[str] = []
    for table in metadata.sorted_tables:
        out += [
            str(CreateIndex(i, if_not_exists=True).compile(dialect=d)).strip()
            for i in sorted(table.indexes, key=lambda i: str(i.name))
        ]
    return out


def add_column_statements(name: str, present: Callable[[str], set[str]]) -> list[str]:
    """``ALTER TABLE … ADD COLUMN`` for the columns an older store lacks (``present(table)``: its columns)."""
    d = dialect(name)
    out = []
    for table in metadata.sorted_tables:
        have = present(table.name)
        if not have:
            continue  # created just now, complete
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(dialect=d)
            default = column.server_default
            text = f" DEFAULT {_literal(default.arg)}" if default is not None else ""  # type: ignore[attr-defined]
            out.append(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{text}")
    return out


def _literal(value: Any) -> str:
    text = str(value)
    return text if text.replace(".", "").isdigit() else "'" + text.replace("'", "''") + "'"


def column_names(table: str) -> tuple[str, ...]:
    return tuple(c.name for c in metadata.tables[table].columns)
