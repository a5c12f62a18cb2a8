"""Run bundles: a store's runs as JSON Lines, imported into any store idempotently.

A bundle is a header line, then per run one ``run`` line followed by its
``event`` and ``approval`` lines. Rows carry their MACs as stored (payloads
were redacted before they were first stored; the key itself is never in a
bundle), so a store holding the same key verifies imported runs exactly as the
one that recorded them. Importing the same bundle twice adds nothing: runs are
keyed by id, events by (run, seq), approvals by (run, time, approver).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any

from agentctl.store.errors import StoreError
from agentctl.store.sealing import APPROVAL_COLUMNS
from agentctl.store.sqlite import RunRecord, Store

HEADER = {"schema": "agentctl/runs-bundle", "version": 1}
EVENT_COLUMNS = ("run_id", "seq", "at", "kind", "payload", "mac")


def export_lines(store: Store, repo: str | None) -> Iterator[str]:
    yield json.dumps(HEADER)
    approvals: dict[str, list[dict[str, Any]]] = {}
    for approval in store.approvals():
        approvals.setdefault(str(approval["run_id"]), []).append(approval)
    for run in store.all_runs(repo):
        yield json.dumps({"type": "run", **dataclasses.asdict(run)}, sort_keys=True)
        query = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE run_id = ? ORDER BY seq"
        for row in store.db.execute(query, (run.id,)).fetchall():
            yield json.dumps({"type": "event", **dict(zip(EVENT_COLUMNS, row, strict=True))}, sort_keys=True)
        for approval in approvals.get(run.id, []):
            yield json.dumps({"type": "approval", **approval}, sort_keys=True)


def import_lines(store: Store, lines: Iterable[str], source: str) -> dict[str, int]:
    """Adds what the store lacks; returns counts of what was new."""
    counts = {"runs": 0, "events": 0, "approvals": 0}
    run_columns = [f.name for f in dataclasses.fields(RunRecord)]
    header_seen = False
    with store._transaction():
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                raise StoreError(
                    f"{source}:{number}: not JSON", "give a file written by agentctl runs export"
                ) from None
            if not header_seen:
                if {k: item.get(k) for k in HEADER} != HEADER:
                    raise StoreError(
                        f"{source}: not an agentctl runs bundle", "give a file written by agentctl runs export"
                    )
                header_seen = True
                continue
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "run":
                values = [_encode(item.get(c)) for c in run_columns]
                marks = ", ".join("?" * len(run_columns))
                inserted = store.db.execute(
                    f"INSERT OR IGNORE INTO runs ({', '.join(run_columns)}) VALUES ({marks})", values
                )
                if inserted.rowcount:
                    counts["runs"] += 1
                    store._append_ledger(str(item["id"]), float(item["started_at"]))
            elif kind == "event":
                added = store.db.execute(
                    f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
                    [item.get(c) for c in EVENT_COLUMNS],
                )
                counts["events"] += added.rowcount or 0
            elif kind == "approval":
                present = store.db.execute(
                    "SELECT 1 FROM approvals WHERE run_id = ? AND at = ? AND approver = ?",
                    (item.get("run_id"), item.get("at"), item.get("approver")),
                ).fetchone()
                if present is None:
                    store.db.execute(
                        f"INSERT INTO approvals ({', '.join(APPROVAL_COLUMNS)}) VALUES ({', '.join('?' * 9)})",
                        [_encode(item.get(c)) for c in APPROVAL_COLUMNS],
                    )
                    counts["approvals"] += 1
            else:
                raise StoreError(
                    f"{source}:{number}: unknown line type {kind!r}", "give a file written by agentctl runs export"
                )
    if not header_seen:
        raise StoreError(f"{source}: empty bundle", "give a file written by agentctl runs export")
    return counts


def _encode(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value
