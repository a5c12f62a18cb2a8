"""The ``model_requests`` table: one row per request the model gateway forwarded.

Part of the store's one schema (:mod:`agentctl.store.schema`, both backends;
older SQLite stores gain it on migration), keyed by run and request number.
The same record is also one ``model_request`` event in the run's event stream
(what exports and ``runs show`` read); this table is for queries across runs
("what did model X cost this week"). Keys and content are never written here.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from agentctl.store.errors import StoreError

_COLUMNS = (
    "run_id",
    "request",
    "provider",
    "path",
    "model_requested",
    "model_answered",
    "response_id",
    "status",
    "attempt",
    "started_at",
    "first_byte_at",
    "ended_at",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "stop_reason",
    "error_type",
    "estimated",
    "max_tokens_requested",
    "max_tokens_sent",
    "budget",
)


def row(run_id: str, record: dict[str, Any]) -> tuple[Any, ...]:
    usage = record.get("usage") or {}
    values = {
        "run_id": run_id,
        "request": record.get("id"),
        "provider": record.get("provider"),
        "path": record.get("path"),
        "model_requested": record.get("model_requested"),
        "model_answered": record.get("model_answered"),
        "response_id": record.get("response_id"),
        "status": record.get("status"),
        "attempt": record.get("attempt"),
        "started_at": record.get("started"),
        "first_byte_at": record.get("first_byte"),
        "ended_at": record.get("ended"),
        "input_tokens": usage.get("input_tokens"),
        "output_tokens": usage.get("output_tokens"),
        "cache_read_tokens": usage.get("cache_read_tokens"),
        "cache_write_tokens": usage.get("cache_write_tokens"),
        "reasoning_tokens": record.get("reasoning_tokens"),
        "cost_usd": record.get("cost_usd"),
        "stop_reason": record.get("stop_reason"),
        "error_type": record.get("error_type"),
        "estimated": int(bool(record.get("estimated"))),
        "max_tokens_requested": record.get("max_tokens_requested"),
        "max_tokens_sent": record.get("max_tokens_sent"),
        "budget": record.get("refused") or record.get("cut"),
    }
    return tuple(values[c] for c in _COLUMNS)


def insert(db: Any, run_id: str, record: dict[str, Any]) -> None:
    """``db``: a store's connection, SQLite or PostgreSQL (the statement is translated for the latter)."""
    placeholders = ", ".join("?" for _ in _COLUMNS)
    db.execute(
        f"INSERT OR REPLACE INTO model_requests ({', '.join(_COLUMNS)}) VALUES ({placeholders})", row(run_id, record)
    )


def for_run(db: Any, run_id: str) -> list[dict[str, Any]]:
    try:
        cursor = db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM model_requests WHERE run_id = ? ORDER BY request", (run_id,)
        )
    except (sqlite3.OperationalError, StoreError):
        return []  # a store from before the table (opened without migrating)
    return [dict(zip(_COLUMNS, r, strict=True)) for r in cursor.fetchall()]
