"""A verified checkpoint of the run history: ``trust`` over many runs re-verifies only what changed.

Verifying a run's seal means recomputing an HMAC over its fields in Python,
which over 100,000 runs costs seconds. Instead the ledger is cut into chunks of
:data:`CHUNK` entries, and for each chunk the database computes a *fingerprint*
of every row a run's record consists of: its ledger entry, its run row, its
approvals, and its event chain's length and last sequence number. Once every run
of a chunk has been verified (and none is still running), the chunk's
fingerprint goes into the checkpoint, which is stored in ``meta`` under an HMAC
with the store key. A later reader recomputes the fingerprints (one SQL query)
and believes, without re-verifying them, only the runs of chunks whose
fingerprint is the one the checkpoint vouches for; every other run is verified
as before, and the checkpoint is then brought forward.

What a fingerprint covers:

* PostgreSQL: row *versions*. No SQL statement can change, insert or re-insert a
  row without giving it a new ``xmin`` (the transaction that wrote it), newer than
  the oldest transaction still running when the checkpoint was read (its snapshot's
  ``xmin``, stored in the checkpoint). So a chunk is unchanged when it has as many
  ledger entries, runs and approvals as the checkpoint says and none of them is
  newer than that; the events (every run's chain: the run's seal covers its length
  and end) are checked store-wide in one pass: as many events older than the
  checkpoint as there were then (none deleted or rewritten), and no newer one in a
  vouched-for chunk. Counting rows and comparing ages costs a fraction of hashing
  every row. A checkpoint older than 2^31 transactions (where a 32-bit ``xmin``
  could come round again) is ignored.
* SQLite (no row versions): the rows' content, hashed with SHA-256.

A checkpoint whose MAC does not check out is ignored (everything is verified),
so forging one achieves nothing without the key. The event chain's contents are
verified by ``runs verdict``/``runs show``; ``trust`` reads run fields and the
chains' length and end only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agentctl.store.integrity import Sealer

CHUNK = 1000
META_KEY = "trust_checkpoint"
VERSION = 2
"""1: PostgreSQL fingerprints hashed every row's ``xmin``; 2: row counts and the snapshot's ``xmin``."""
MAX_XID_AGE = 2**31 - 2**24
"""Beyond this many transactions since the checkpoint a 32-bit ``xmin`` could come round again."""


def _newer(column: str, age: int | None) -> str:
    """SQL: the row version ``column`` is as new as the transaction ``age`` transactions back, or newer.

    PostgreSQL's ``age(xmin)`` counts back from now; a row old enough for its 32-bit ``xmin`` to come
    round reads as newer (its chunk is verified again), never the other way. ``None``: nothing is
    newer. The numbers are ours, never input.
    """
    return "FALSE" if age is None else f"age({column}) <= {int(age)}"


def chunk_of(seq: int) -> int:
    return (seq - 1) // CHUNK


@dataclass
class Checkpoint:
    """The fingerprints now, and the chunks whose runs the (verified) stored checkpoint vouches for."""

    current: dict[int, str] = field(default_factory=dict)
    trusted: set[int] = field(default_factory=set)
    xid: int | None = None
    """PostgreSQL: the oldest transaction still running when the fingerprints were read (its snapshot's xmin)."""
    events: int | None = None
    """PostgreSQL: how many events older than ``xid`` there were (what the next checkpoint compares with)."""

    def condition(self, alias: str = "l") -> str:
        """SQL: the ledger row ``alias`` lies in a trusted chunk (the numbers are ours, never input)."""
        if not self.trusted:
            return "1 = 0"
        spans: list[list[int]] = []  # runs of consecutive chunks: usually one, from the first to the newest full one
        for chunk in sorted(int(c) for c in self.trusted):
            if spans and spans[-1][1] == chunk - 1:
                spans[-1][1] = chunk
            else:
                spans.append([chunk, chunk])
        ranges = [f"{alias}.seq BETWEEN {low * CHUNK + 1} AND {(high + 1) * CHUNK}" for low, high in spans]
        return f"({' OR '.join(ranges)})"


@dataclass
class _PgState:
    chunks: dict[int, str]
    """Each chunk's ledger entries, runs and approvals, counted."""
    changed: set[int]
    """Chunks with a row (an event included) written since the stored checkpoint."""
    events_before: int
    """Events older than the stored checkpoint."""
    xmin: int
    events_now: int
    """Events older than this snapshot's ``xmin``."""
    xmax: int


def _pg_state(db: Any, since: int | None) -> _PgState:
    """Everything a PostgreSQL checkpoint compares (``since``: the stored checkpoint's xmin, a 64-bit txid)."""
    xmin, xmax = (
        int(v)
        for v in db.execute(
            "SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s) FROM txid_current_snapshot() s"
        ).fetchone()
    )
    # How far back, in age(), the checkpoint's xmin and this snapshot's lie (txids taken modulo 2^32 are xids).
    ages = db.execute(
        f"SELECT age('{int(since if since is not None else xmin) % 2**32}'::xid), age('{xmin % 2**32}'::xid)"
    ).fetchone()
    since_age = int(ages[0]) if since is not None else None
    newer, older_now = _newer("{}", since_age), f"NOT {_newer('xmin', int(ages[1]))}"
    chunks: dict[int, str] = {}
    changed: set[int] = set()
    for chunk, entries, runs, approvals, fresh in db.execute(
        f"SELECT (l.seq - 1) / {CHUNK}, COUNT(*), COUNT(r.id), COALESCE(SUM(a.n), 0),"
        f" COUNT(*) FILTER (WHERE {newer.format('l.xmin')} OR {newer.format('r.xmin')} OR a.fresh)"
        " FROM ledger l LEFT JOIN runs r ON r.id = l.run_id"
        f" LEFT JOIN (SELECT run_id, COUNT(*) AS n, bool_or({newer.format('xmin')}) AS fresh FROM approvals"
        " GROUP BY run_id) a ON a.run_id = l.run_id GROUP BY 1"
    ):
        chunks[int(chunk)] = f"{int(entries)}:{int(runs)}:{int(approvals)}"
        if fresh:
            changed.add(int(chunk))
    # One pass over the events: the old ones counted (against the checkpoint, and for the next one), and
    # the runs with newer ones named (an event added to a vouched-for run spoils its chunk).
    before, now, touched = db.execute(
        f"SELECT COUNT(*) FILTER (WHERE NOT {newer.format('xmin')}), COUNT(*) FILTER (WHERE {older_now}),"
        f" array_agg(DISTINCT run_id) FILTER (WHERE {newer.format('xmin')}) FROM events"
    ).fetchone()
    touched = [str(r) for r in touched or ()]
    for start in range(0, len(touched), 500):
        batch = touched[start : start + 500]
        for (seq,) in db.execute(f"SELECT seq FROM ledger WHERE run_id IN ({', '.join('?' * len(batch))})", batch):
            changed.add(chunk_of(int(seq)))
    return _PgState(chunks, changed, int(before), xmin, int(now), xmax)


def _sqlite_fingerprints(db: Any) -> dict[int, str]:
    runs = [str(r[1]) for r in db.execute("PRAGMA table_info(runs)").fetchall() if r[1] != "export_state"]
    approvals = [str(r[1]) for r in db.execute("PRAGMA table_info(approvals)").fetchall()]
    run_text = " || '|' || ".join(f"quote(r.{c})" for c in runs)
    approval_text = " || '|' || ".join(f"quote({c})" for c in approvals)
    query = (
        f"SELECT (l.seq - 1) / {CHUNK}, l.seq || '|' || l.run_id || '|' || quote(l.started_at) || '|' || l.mac"
        f" || '|' || COALESCE({run_text}, '-') || '|' || COALESCE(e.n, 0) || '|' || COALESCE(e.last, 0)"
        " || '|' || COALESCE(a.v, '-')"
        " FROM ledger l LEFT JOIN runs r ON r.id = l.run_id"
        " LEFT JOIN (SELECT run_id, COUNT(*) AS n, MAX(seq) AS last FROM events GROUP BY run_id) e"
        " ON e.run_id = l.run_id"
        f" LEFT JOIN (SELECT run_id, group_concat({approval_text}, ';') AS v FROM"
        " (SELECT * FROM approvals ORDER BY run_id, rowid) GROUP BY run_id) a ON a.run_id = l.run_id"
        " ORDER BY l.seq"
    )
    digests: dict[int, Any] = {}
    for chunk, text in db.execute(query):
        digest = digests.get(chunk)
        if digest is None:
            digest = digests[chunk] = hashlib.sha256()
        digest.update(str(text).encode() + b"\n")
    return {int(c): d.hexdigest() for c, d in digests.items()}


def fingerprints(db: Any, backend: str) -> tuple[dict[int, str], int | None]:
    """Each chunk's fingerprint (and on PostgreSQL the snapshot's xmin), read in the caller's snapshot."""
    if backend == "postgresql":
        state = _pg_state(db, None)
        return state.chunks, state.xmin
    return _sqlite_fingerprints(db), None


def load(db: Any, backend: str, sealer: Sealer | None) -> Checkpoint:
    """The current fingerprints, and which chunks the stored checkpoint (if its MAC holds) vouches for."""
    stored = None
    if sealer is not None:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
        stored = _verified(sealer, row[0] if row else None, backend)
    if backend != "postgresql":
        current = _sqlite_fingerprints(db)
        found = Checkpoint(current)
        if stored is not None:
            chunks = stored[0]
            found.trusted = {c for c, f in current.items() if c in chunks and hmac.compare_digest(chunks[c], f)}
        return found
    since = stored[1] if stored is not None else None
    state = _pg_state(db, since)
    found = Checkpoint(state.chunks, set(), state.xmin, state.events_now)
    if stored is None or since is None or not 0 <= state.xmax - since < MAX_XID_AGE:
        return found
    chunks, _, events = stored
    if events is None or events != state.events_before:
        return found  # an event older than the checkpoint deleted or rewritten: no telling whose, verify all
    found.trusted = {
        c
        for c, f in state.chunks.items()
        if c not in state.changed and c in chunks and hmac.compare_digest(chunks[c], f)
    }
    return found


def _verified(sealer: Sealer, text: str | None, backend: str) -> tuple[dict[int, str], int | None, int | None] | None:
    if not text:
        return None
    try:
        stored = json.loads(text)
        body = {k: v for k, v in stored.items() if k != "mac"}
        if not hmac.compare_digest(sealer.checkpoint(body), str(stored["mac"])):
            return None
        if body["backend"] != backend or body["version"] not in ((VERSION, 1) if backend == "sqlite" else (VERSION,)):
            return None  # SQLite's fingerprints are those of version 1
        xid, events = body.get("xid"), body.get("events")
        return (
            {int(c): str(f) for c, f in body["chunks"].items()},
            int(xid) if xid is not None else None,
            int(events) if events is not None else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def encode(sealer: Sealer, backend: str, chunks: dict[int, str], xid: int | None, events: int | None = None) -> str:
    """The checkpoint as stored in ``meta``: the verified chunks' fingerprints under the store key's MAC."""
    body: dict[str, Any] = {
        "version": VERSION,
        "backend": backend,
        "xid": xid,
        "events": events,
        "chunks": {str(c): f for c, f in sorted(chunks.items())},
    }
    return json.dumps({**body, "mac": sealer.checkpoint(body)}, sort_keys=True)


def still_trusted(checkpoint: Checkpoint, verified: Iterable[int]) -> dict[int, str]:
    """The chunks to vouch for from now on: those trusted already and those just verified in full."""
    keep = set(checkpoint.trusted) | set(verified)
    return {c: f for c, f in checkpoint.current.items() if c in keep}
