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

from agentctl.store import bundle_lines
from agentctl.store.errors import StoreError
from agentctl.store.sealing import APPROVAL_COLUMNS
from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writes import EVENT_COLUMNS, check_same, put_events

HEADER = {"schema": "agentctl/runs-bundle", "version": 1}
UNSEALED = ("export_state", "mac")


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
    """Adds what the store lacks; returns counts of what was new.

    A run the store already holds is replaced only by a newer record of the same run whose seal
    verifies over the merged events and approvals (a run that went on locally after the server
    stopped answering); a different event or approval under a stored key is an integrity error.

    Fails closed, storing nothing of the file: a line agentctl would not have written, or any run the
    file adds to or changes that does not verify under this store's key afterwards (a forged or
    altered run, an event slipped into a stored run). Runs recorded before sealing existed come in
    as the unverified legacy runs they are (never clean evidence).
    """
    counts = {"runs": 0, "events": 0, "approvals": 0, "completed": 0, "unproven": 0}
    run_columns = [f.name for f in dataclasses.fields(RunRecord)]
    header_seen = False
    known: list[dict[str, Any]] = []  # run lines whose id the store already held: settled at the end
    before: dict[str, str | None] = {}  # each run the file touches: its state before (None: new)

    def touch(run_id: str) -> None:
        if run_id not in before:
            before[run_id] = store.verify(run_id).state if store._fields(run_id) is not None else None

    with store._transaction():
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            item = bundle_lines.parse(line, where)
            if not header_seen:
                if not isinstance(item, dict) or {k: item.get(k) for k in HEADER} != HEADER:
                    raise StoreError(f"{source}: not an agentctl runs bundle", bundle_lines.HINT)
                header_seen = True
                continue
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("run", "event", "approval"):
                raise StoreError(f"{where}: unknown line type {kind!r}", bundle_lines.HINT)
            bundle_lines.check(kind, item, where)
            touch(str(item["id"] if kind == "run" else item["run_id"]))
            if kind == "run":
                values = [_encode(item.get(c)) for c in run_columns]
                marks = ", ".join("?" * len(run_columns))
                inserted = store.db.execute(
                    f"INSERT OR IGNORE INTO runs ({', '.join(run_columns)}) VALUES ({marks})", values
                )
                if inserted.rowcount:
                    counts["runs"] += 1
                    store._append_ledger(str(item["id"]), float(item["started_at"]))
                else:
                    known.append({c: item.get(c) for c in run_columns})
            elif kind == "event":
                counts["events"] += put_events(store.db, [tuple(item.get(c) for c in EVENT_COLUMNS)])
            else:
                counts["approvals"] += _put_approval(store, item)
        for incoming in known:
            outcome = _settle(store, incoming)
            if outcome:
                counts[outcome] += 1
        for run_id, state in before.items():
            _verified_after(store, run_id, state, source)
    if not header_seen:
        raise StoreError(f"{source}: empty bundle", bundle_lines.HINT)
    return counts


def _verified_after(store: Store, run_id: str, state: str | None, source: str) -> None:
    """A run the import added to or changed must verify afterwards (unless it did not before either)."""
    from agentctl.store import integrity

    hint = (
        "import only bundles written by agentctl runs export, or spool files from .agentctl/spool/, of a store "
        "sharing this store's key; nothing of the file was imported"
    )
    if store._fields(run_id) is None:
        raise StoreError(
            f"{source}: events or approvals of run {run_id}, which is neither in the file nor stored", hint
        )
    result = store.verify(run_id)
    if result.state == integrity.FAILED and state != integrity.FAILED:
        what = "run" if state is None else "stored run"
        raise StoreError(f"{source}: {what} {run_id} would not verify under this store's key: {result.summary()}", hint)


def _put_approval(store: Store, item: dict[str, Any]) -> int:
    approval = {c: item.get(c) for c in APPROVAL_COLUMNS}
    stored = [
        a
        for a in store._approval_rows(str(approval["run_id"]))
        if a["at"] == approval["at"] and a["approver"] == approval["approver"]
    ]
    if stored:
        check_same(f"the approval of run {approval['run_id']} by {approval['approver']}", stored[0], approval)
        return 0
    store.db.execute(
        f"INSERT INTO approvals ({', '.join(APPROVAL_COLUMNS)}) VALUES ({', '.join('?' * 9)})",
        [_encode(approval[c]) for c in APPROVAL_COLUMNS],
    )
    return 1


def _settle(store: Store, incoming: dict[str, Any]) -> str | None:
    """A run the store held already: keep it, or take the incoming record when it is the run's later, sealed
    state (the stored one still ``running``, or no longer matching its seal after the merge). Returns
    ``completed`` (taken), ``unproven`` (different, but its seal does not verify here: not taken) or ``None``."""
    from agentctl.store import integrity

    run_id = str(incoming["id"])
    stored = store._fields(run_id)
    if stored is None or all(stored.get(k) == v for k, v in incoming.items() if k not in UNSEALED):
        return None
    sealer = store.sealer(create=False)
    if sealer is None or not incoming.get("mac"):
        return "unproven"  # nothing to prove the incoming record by: the stored one stays
    events, approvals = store._event_rows(run_id), store._approval_rows(run_id)
    if not integrity.verify_run(sealer, incoming, events, approvals).ok:
        return "unproven"
    if stored.get("status") != "running" and integrity.verify_run(sealer, stored, events, approvals).ok:
        return None  # the stored record is the later one (an approval since, say)
    columns = [c for c in incoming if c != "id"]
    store.db.execute(
        f"UPDATE runs SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
        [*(_encode(incoming[c]) for c in columns), run_id],
    )
    return "completed"


def _encode(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value
