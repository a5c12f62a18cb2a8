"""Idempotent writes: a retried write is stored once, a different one under the same key is refused.

Every record has a deterministic key (events: run and sequence number; runs:
their id; approvals: run, time and approver). A write first tries
``INSERT OR IGNORE`` (``ON CONFLICT DO NOTHING`` on PostgreSQL); only when a
row was ignored are the stored rows read back and compared with what was meant
to be written. Identical: the retry was a no-op. Different: an integrity
error, never silently dropped — two writers disagreeing about one key means
one of them is not the recorder it claims to be.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentctl.store.errors import StoreError

EVENT_COLUMNS = ("run_id", "seq", "at", "kind", "payload", "mac")
_INSERT_EVENT = f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
_HINT = "the store holds a different record under the same key: run agentctl runs show ID to inspect it"


class IntegrityError(StoreError):
    """A write that conflicts with what is stored under the same key."""


def put_events(db: Any, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert event rows ``(run_id, seq, at, kind, payload, mac)``; returns how many were new."""
    if not rows:
        return 0
    added: int
    if len(rows) == 1:
        added = db.execute(_INSERT_EVENT, rows[0]).rowcount
    else:
        added = db.executemany(_INSERT_EVENT, rows).rowcount
    if added >= len(rows):
        return len(rows)  # the common case: nothing was there yet, nothing to compare
    by_run: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_run.setdefault(str(row[0]), []).append(row)
    for run_id, meant in by_run.items():
        seqs = [int(r[1]) for r in meant]
        stored = {
            int(seq): (float(at), kind, payload, mac)
            for seq, at, kind, payload, mac in db.execute(
                "SELECT seq, at, kind, payload, mac FROM events WHERE run_id = ? AND seq BETWEEN ? AND ?",
                (run_id, min(seqs), max(seqs)),
            ).fetchall()
        }
        for row in meant:
            have = stored.get(int(row[1]))
            if have is None:
                raise StoreError(f"event {row[1]} of run {run_id} was not stored", "retry the command")
            if have != (float(row[2]), row[3], row[4], row[5]):
                raise IntegrityError(f"event {row[1]} of run {run_id} is already stored with different content", _HINT)
    return max(added, 0)


def check_same(what: str, stored: dict[str, Any], meant: dict[str, Any]) -> None:
    """``stored`` and ``meant`` (decoded values, same keys) must agree, or the write is an integrity error."""
    differing = sorted(k for k in meant if _norm(stored.get(k)) != _norm(meant.get(k)))
    if differing:
        raise IntegrityError(f"{what} is already stored with different content ({', '.join(differing[:5])})", _HINT)


def _norm(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
