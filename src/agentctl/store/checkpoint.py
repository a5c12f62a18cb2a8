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

* PostgreSQL: the rows' *versions* (``xmin``, the transaction that wrote each
  row). No SQL statement can change a row and keep its ``xmin``, and a checkpoint
  older than 2^31 transactions (where an ``xmin`` could repeat) is ignored.
* SQLite (no row versions): the rows' content, hashed with SHA-256.

A checkpoint whose MAC does not check out is ignored (everything is verified),
so forging one achieves nothing without the key. The event chain's contents are
verified by ``runs verdict``/``runs show``; ``trust`` reads run fields only.
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
MAX_XID_AGE = 2**31 - 2**24
"""Beyond this many transactions since the checkpoint a 32-bit ``xmin`` could come round again."""

_PG_FINGERPRINTS = (
    "SELECT (l.seq - 1) / {chunk}, md5(string_agg(concat_ws(':', l.seq, l.xmin::text, COALESCE(r.xmin::text, '-'),"
    " COALESCE(e.n, 0), COALESCE(e.last, 0), COALESCE(a.v, '-')), ',' ORDER BY l.seq))"
    " FROM ledger l LEFT JOIN runs r ON r.id = l.run_id"
    " LEFT JOIN (SELECT run_id, COUNT(*) AS n, MAX(seq) AS last FROM events GROUP BY run_id) e ON e.run_id = l.run_id"
    " LEFT JOIN (SELECT run_id, string_agg(xmin::text, '.' ORDER BY xmin::text) AS v FROM approvals"
    " GROUP BY run_id) a ON a.run_id = l.run_id"
    " GROUP BY 1"
)


def chunk_of(seq: int) -> int:
    return (seq - 1) // CHUNK


@dataclass
class Checkpoint:
    """The fingerprints now, and the chunks whose runs the (verified) stored checkpoint vouches for."""

    current: dict[int, str] = field(default_factory=dict)
    trusted: set[int] = field(default_factory=set)
    xid: int | None = None
    """PostgreSQL: the next transaction id when the fingerprints were read."""

    def condition(self, alias: str = "l") -> str:
        """SQL: the ledger row ``alias`` lies in a trusted chunk (the numbers are ours, never input)."""
        if not self.trusted:
            return "1 = 0"
        return f"({alias}.seq - 1) / {CHUNK} IN ({', '.join(str(int(c)) for c in sorted(self.trusted))})"


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
    """Each chunk's fingerprint (and on PostgreSQL the next transaction id), read in the caller's snapshot."""
    if backend == "postgresql":
        rows = db.execute(_PG_FINGERPRINTS.format(chunk=CHUNK)).fetchall()
        xid = db.execute("SELECT txid_snapshot_xmax(txid_current_snapshot())").fetchone()[0]
        return {int(c): str(f) for c, f in rows}, int(xid)
    return _sqlite_fingerprints(db), None


def load(db: Any, backend: str, sealer: Sealer | None) -> Checkpoint:
    """The current fingerprints, and which chunks the stored checkpoint (if its MAC holds) vouches for."""
    current, xid = fingerprints(db, backend)
    found = Checkpoint(current, set(), xid)
    if sealer is None:
        return found
    row = db.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
    stored = _verified(sealer, row[0] if row else None, backend)
    if stored is None:
        return found
    chunks, stored_xid = stored
    if backend == "postgresql" and (stored_xid is None or xid is None or not 0 <= xid - stored_xid < MAX_XID_AGE):
        return found
    found.trusted = {c for c, f in current.items() if chunks.get(c) is not None and hmac.compare_digest(chunks[c], f)}
    return found


def _verified(sealer: Sealer, text: str | None, backend: str) -> tuple[dict[int, str], int | None] | None:
    if not text:
        return None
    try:
        stored = json.loads(text)
        body = {k: v for k, v in stored.items() if k != "mac"}
        if not hmac.compare_digest(sealer.checkpoint(body), str(stored["mac"])) or body["backend"] != backend:
            return None
        return {int(c): str(f) for c, f in body["chunks"].items()}, body.get("xid")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def encode(sealer: Sealer, backend: str, chunks: dict[int, str], xid: int | None) -> str:
    """The checkpoint as stored in ``meta``: the verified chunks' fingerprints under the store key's MAC."""
    body: dict[str, Any] = {
        "version": 1,
        "backend": backend,
        "xid": xid,
        "chunks": {str(c): f for c, f in sorted(chunks.items())},
    }
    return json.dumps({**body, "mac": sealer.checkpoint(body)}, sort_keys=True)


def still_trusted(checkpoint: Checkpoint, verified: Iterable[int]) -> dict[int, str]:
    """The chunks to vouch for from now on: those trusted already and those just verified in full."""
    keep = set(checkpoint.trusted) | set(verified)
    return {c: f for c, f in checkpoint.current.items() if c in keep}
