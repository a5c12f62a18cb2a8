"""The run history as ``agentctl trust`` reads it: counted in SQL, verified through the checkpoint.

Runs that are plainly clean (completed in a sandbox, nothing blocked, denied or
awaiting approval, no approval on record, no commit to look up) and whose
records the verified checkpoint vouches for are *counted* by the database,
grouped by agent and changed paths. Every other run (demoted, legacy, newer than
the checkpoint, or with commits when the repository has reverts) is read whole
and judged one by one in Python as before. Everything is read in one snapshot.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentctl.store import checkpoint, integrity
from agentctl.store.checkpoint import CHUNK, Checkpoint
from agentctl.store.errors import StoreError
from agentctl.store.integrity import VERIFIED, Integrity, LedgerRow

if TYPE_CHECKING:
    from agentctl.store.sqlite import RunRecord, Store

PLAIN = (
    "r.status = 'completed' AND r.sandbox IS NOT NULL AND r.sandbox <> 'off'"
    " AND (r.verdict IS NULL OR r.verdict NOT IN ('blocked', 'approval_required'))"
    " AND (r.findings IS NULL OR r.findings NOT LIKE '%deny%')"
    " AND r.id NOT IN (SELECT a.run_id FROM approvals a)"
)
"""A run ``judge_run`` could only find clean (the deny test is loose on purpose: a mention means 'read it')."""
NO_COMMITS = " AND (r.base_commit IS NULL OR r.end_commit IS NULL OR r.base_commit = r.end_commit)"


@dataclass
class Evidence:
    groups: list[tuple[str, str | None, int]] = field(default_factory=list)
    """(agent, changed paths as stored, number of runs): clean runs the checkpoint vouches for."""
    runs: list[RunRecord] = field(default_factory=list)
    """Every other run, to be judged one by one."""
    records: dict[str, Integrity] = field(default_factory=dict)
    """The verification of each of ``runs``."""
    history: list[str] = field(default_factory=list)
    """Problems with the history as a whole (see :func:`agentctl.store.integrity.verify_ledger`)."""

    @property
    def vouched(self) -> int:
        return sum(count for _, _, count in self.groups)


@contextlib.contextmanager
def snapshot(store: Store) -> Iterator[None]:
    """One consistent view of the store for everything read inside (read-only)."""
    if store.backend == "postgresql":
        store.db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        store.db.execute("SET LOCAL work_mem = '64MB'")  # the fingerprints sort 100,000s of rows
    else:
        store.db.execute("BEGIN")
    try:
        yield
    finally:
        store.db.execute("COMMIT")


def read(store: Store, repo: str | None, *, commits_matter: bool, grouped: bool = True) -> Evidence:
    """The evidence for trust (``grouped=False``: every run read whole, as the JSON report lists them all)."""
    sealer = store.sealer(create=False)
    with snapshot(store):
        cp = checkpoint.load(store.db, store.backend, sealer)
        evidence, verified = _read(store, cp, repo, commits_matter, grouped)
    chunks = checkpoint.still_trusted(cp, verified)
    if sealer is not None and chunks != {c: cp.current[c] for c in cp.trusted}:
        text = checkpoint.encode(sealer, store.backend, chunks, cp.xid, cp.events)
        # A read-only store (a sandboxed run): the next reader that can write brings it forward.
        with contextlib.suppress(StoreError, sqlite3.Error), store._transaction():
            store.db.execute("DELETE FROM meta WHERE key = ?", (checkpoint.META_KEY,))
            store.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (checkpoint.META_KEY, text))
    return evidence


def _read(
    store: Store, cp: Checkpoint, repo: str | None, commits_matter: bool, grouped: bool
) -> tuple[Evidence, set[int]]:
    db = store.db
    trusted_ids = f"r.id IN (SELECT l.run_id FROM ledger l WHERE {cp.condition('l')})"
    plain = f"{PLAIN}{NO_COMMITS if commits_matter else ''}"
    mine, params = ("r.repo_url = ? OR r.repo_url IS NULL", (repo,)) if repo else ("1 = 1", ())
    evidence = Evidence()
    sealed: int | None = None
    if grouped:
        # One pass over the runs: clean ones the checkpoint vouches for counted per agent and paths, every
        # other run of this repository named with whether it is vouched for, the seals summed over all.
        ids: list[str] = []
        vouched: set[str] = set()
        sealed = 0
        if store.backend == "postgresql":  # hash the ~100,000 (agent, paths) keys rather than sort them
            db.execute("SET LOCAL enable_sort = off")
        for agent, paths, run_id, is_vouched, count, seals in db.execute(
            _runs_pass(store.backend, plain, mine, trusted_ids), params
        ):
            sealed += int(seals or 0)
            if run_id is not None:
                ids.append(str(run_id))
                if is_vouched:
                    vouched.add(str(run_id))
            elif agent is not None:
                evidence.groups.append((str(agent), paths, int(count)))
        if store.backend == "postgresql":
            db.execute("SET LOCAL enable_sort = on")
        rows = []
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            rows += db.execute(f"SELECT * FROM runs WHERE id IN ({', '.join('?' * len(batch))})", batch).fetchall()
    else:
        rows = db.execute(
            f"SELECT r.*, CASE WHEN {trusted_ids} THEN 1 ELSE 0 END FROM runs r WHERE {mine} ORDER BY r.started_at",
            params,
        ).fetchall()
        vouched = {str(row[0]) for row in rows if row[-1]}
        rows = [row[:-1] for row in rows]
    evidence.runs = sorted((store._record(row) for row in rows), key=lambda run: (run.started_at, run.id))
    approvals: dict[str, list[dict[str, Any]]] = {}
    for approval in store._approval_rows(None):
        approvals.setdefault(str(approval["run_id"]), []).append(approval)
    # The chunks the checkpoint does not vouch for: every run in them (any repository) verified now.
    fresh = sorted(set(cp.current) - cp.trusted)
    chunk_of_run = _chunk_runs(store, fresh, {run.id: run for run in evidence.runs})
    pending = [run for _, run in chunk_of_run.values()]
    seen = set(chunk_of_run)
    pending += [r for r in evidence.runs if r.id not in vouched and r.id not in seen]  # legacy, not in the ledger
    records = _verify(store, pending, approvals)
    for run in evidence.runs:
        if run.id in vouched:
            records[run.id] = Integrity(VERIFIED, approvals=approvals.get(run.id, []))
    evidence.records = {run.id: records[run.id] for run in evidence.runs}
    evidence.history, ledger_ok = _verify_ledger(store, cp, fresh, sealed)
    spoiled = {c for run_id, (c, run) in chunk_of_run.items() if records[run_id].state != VERIFIED or _running(run)}
    return evidence, ledger_ok - spoiled


def _runs_pass(backend: str, plain: str, mine: str, trusted: str) -> str:
    """SQL: rows of (agent, paths, run id, vouched for, count, seals) for :func:`_read`'s one pass over the runs.

    PostgreSQL: one grouping (``k``: 1 clean and vouched for, counted per agent and paths; 2 any other
    run of this repository, by id; 0 another repository's), behind ``OFFSET 0`` so the per-run tests are
    not copied into each outer ``CASE``. SQLite: the same rows from a CTE read three times (SQLite sorts
    to group, and sorting every run by id as well costs it five times as much).
    """
    collate = ' COLLATE "C"' if backend == "postgresql" else ""  # grouping, not sorting for people
    per_run = (
        f"SELECT r.id, r.agent{collate} AS agent, r.changed_paths{collate} AS changed_paths,"
        f" CASE WHEN r.status <> 'running' AND {plain} THEN 1 ELSE 0 END AS plain,"
        f" CASE WHEN {mine} THEN 1 ELSE 0 END AS mine,"
        f" CASE WHEN {trusted} THEN 1 ELSE 0 END AS vouched,"
        " CASE WHEN r.mac IS NOT NULL THEN 1 ELSE 0 END AS sealed FROM runs r"
    )
    if backend == "postgresql":
        return (
            "SELECT CASE WHEN k = 1 THEN agent END, CASE WHEN k = 1 THEN changed_paths END,"
            " CASE WHEN k = 2 THEN id END, CASE WHEN k = 2 THEN vouched END, COUNT(*), SUM(sealed)"
            " FROM (SELECT id, agent, changed_paths, vouched, sealed,"
            " CASE WHEN mine = 0 THEN 0 WHEN plain = 1 AND vouched = 1 THEN 1 ELSE 2 END AS k"
            f" FROM ({per_run} OFFSET 0) y0) y GROUP BY 1, 2, 3, 4"
        )
    return (
        f"WITH x AS ({per_run})"
        " SELECT agent, changed_paths, NULL, NULL, COUNT(*), 0 FROM x WHERE plain = 1 AND vouched = 1 AND mine = 1"
        " GROUP BY agent, changed_paths"
        " UNION ALL SELECT NULL, NULL, id, vouched, 1, 0 FROM x WHERE (plain = 0 OR vouched = 0) AND mine = 1"
        " UNION ALL SELECT NULL, NULL, NULL, NULL, 0, SUM(sealed) FROM x"
    )


def _running(run: RunRecord) -> bool:
    return run.status == "running"


def _chunk_runs(store: Store, chunks: list[int], known: dict[str, RunRecord]) -> dict[str, tuple[int, RunRecord]]:
    """Every run (any repository) of these chunks of the ledger, with its chunk (``known``: runs read already)."""
    if not chunks:
        return {}
    listed = ", ".join(str(int(c)) for c in chunks)
    entries = store.db.execute(f"SELECT run_id, seq FROM ledger WHERE (seq - 1) / {CHUNK} IN ({listed})").fetchall()
    missing = [str(run_id) for run_id, _ in entries if run_id not in known]
    runs = dict(known)
    for start in range(0, len(missing), 500):
        batch = missing[start : start + 500]
        for row in store.db.execute(f"SELECT * FROM runs WHERE id IN ({', '.join('?' * len(batch))})", batch):
            run = store._record(row)
            runs[run.id] = run
    # An entry whose run is gone is the ledger check's finding (and keeps its chunk from being vouched for).
    return {str(r): (checkpoint.chunk_of(int(seq)), runs[str(r)]) for r, seq in entries if str(r) in runs}


def _verify(store: Store, runs: list[RunRecord], approvals: dict[str, list[dict[str, Any]]]) -> dict[str, Integrity]:
    """Seal-only verification (every run field, the chains' length and end), as ``verify_all`` does."""
    ids = [r.id for r in runs]
    return store._verify_seals(runs, store._chain_ends(None if len(ids) > 5 * CHUNK else ids), approvals)


def _verify_ledger(store: Store, cp: Checkpoint, fresh: list[int], sealed: int | None) -> tuple[list[str], set[int]]:
    """Problems with the history, and the fresh chunks whose ledger entries hold.

    ``sealed``: the number of sealed runs, if counted already: as many as there are entries, each
    entry's run there and sealed, means no sealed run is missing from the ledger.
    """
    count, low, high = store.db.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM ledger").fetchone()
    if not cp.trusted or (count and (int(low) != 1 or int(high) != int(count))):
        # No checkpoint yet, or entries missing: the whole chain, as before (all or nothing to vouch for).
        whole = store.verify_ledger()
        return whole, set() if whole else set(fresh)
    sealer = store.sealer(create=False)
    problems: list[str] = []
    good: set[int] = set()
    for chunk in fresh:
        low_seq, high_seq = chunk * CHUNK, (chunk + 1) * CHUNK
        rows = [
            LedgerRow(int(seq), str(run_id), float(at), str(mac))
            for seq, run_id, at, mac in store.db.execute(
                "SELECT seq, run_id, started_at, mac FROM ledger WHERE seq BETWEEN ? AND ? ORDER BY seq",
                (low_seq, high_seq),
            )
        ]
        after = (rows[0].seq, rows[0].mac) if rows and rows[0].seq == low_seq and low_seq > 0 else (low_seq, "")
        rows = [r for r in rows if r.seq > low_seq]
        runs = {
            str(r[0]): r[1]
            for r in store.db.execute(
                "SELECT id, mac FROM runs WHERE id IN (SELECT run_id FROM ledger WHERE seq > ? AND seq <= ?)",
                (low_seq, high_seq),
            )
        }
        found = integrity.verify_ledger(sealer, rows, runs, store._key_problem, after=after)
        problems += found
        if not found:
            good.add(chunk)
    if sealed == int(count):
        return problems, good
    unlisted = [
        str(r[0])
        for r in store.db.execute(
            "SELECT id FROM runs r WHERE r.mac IS NOT NULL AND r.id NOT IN (SELECT run_id FROM ledger) ORDER BY id"
        )
    ]
    if unlisted:
        problems.append(f"run(s) not in the run history (inserted?): {', '.join(unlisted[:10])}")
    return problems, good
