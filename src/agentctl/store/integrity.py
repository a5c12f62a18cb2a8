"""Tamper-evident run records: MACs under a per-repository key, hash-chained per run.

Every event and every approval carries an HMAC-SHA256 under the store key
(``.agentctl/store.key``, created 0600 on first write, hidden from the agent
by the sandbox, never printed or exported). Each MAC also covers the MAC of
the record before it in the same run, and sequence numbers are contiguous, so
a row inserted, edited, deleted or moved is seen. The run row itself carries a
*seal*: a MAC over its fields and over the heads of both chains (count and
last MAC), so deleting the last events or an approval, or editing the verdict,
is seen too.

Everything here is computed in Python over a canonical encoding of decoded
values (never in SQL), so any backend that stores the same values verifies the
same way. Records written before sealing existed carry no MAC: they are
"unverified (legacy)" and never count as clean evidence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_NAME = "store.key"
KEY_BYTES = 32

VERIFIED = "verified"
LEGACY = "legacy"
FAILED = "failed"

UNSEALED_FIELDS = frozenset({"export_state", "mac"})
"""Run fields outside the seal: delivery bookkeeping, and the seal itself."""
LIVE_FIELDS = frozenset(
    {
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cost_usd",
        "cost_source",
        "turns",
        "tool_calls",
        "tool_errors",
        "model",
        "session_id",
    }
)
"""Running totals, flushed many times while a run is running: sealed only once it has finished
(the event chain, which is sealed as it is written, is where they come from)."""


class StoreKeyError(Exception):
    """The store key exists but cannot be used (unreadable, not a regular file, wrong size)."""


def key_path(store_path: Path) -> Path:
    """The key lives beside the database: ``.agentctl/store.key`` for the default store."""
    return store_path.parent / KEY_NAME


def read_key(path: Path) -> bytes | None:
    """The key, or ``None`` when there is none yet. Symlinks are never followed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreKeyError(f"cannot read the store key {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreKeyError(f"the store key {path} is not a regular file")
        raw = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise StoreKeyError(f"the store key {path} is damaged (not hex)") from None
    if len(key) != KEY_BYTES:
        raise StoreKeyError(f"the store key {path} is damaged ({len(key)} bytes, expected {KEY_BYTES})")
    return key


def load_or_create_key(path: Path) -> bytes:
    """The key, created 0600 (exclusively, never through a symlink) when missing."""
    key = read_key(path)
    if key is not None:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_bytes(KEY_BYTES)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        key = read_key(path)
        if key is None:
            raise StoreKeyError(f"the store key {path} vanished while being created") from None
        return key
    except OSError as exc:
        raise StoreKeyError(f"cannot create the store key {path}: {exc.strerror}") from None
    try:
        os.write(fd, fresh.hex().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return fresh


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8; floats as Python's shortest repr."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def digest(value: Any) -> str:
    """A short content digest (for binding an approval to a tool call's input)."""
    return hashlib.sha256(canonical(value)).hexdigest()[:32]


_SEP = b"\x1f"


class Sealer:
    """Computes the three kinds of MAC under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def event(self, run_id: str, seq: int, at: float, kind: str, payload: str, prev: str) -> str:
        # One format and one encode: this runs once per event, off the agent's path but not free.
        message = f"agentctl-event-v1\x1f{run_id}\x1f{seq}\x1f{float(at)!r}\x1f{kind}\x1f{prev}\x1f{payload}"
        return hmac.digest(self._key, message.encode(), "sha256").hex()

    def approval(self, approval: Mapping[str, Any], prev: str) -> str:
        body = {k: approval.get(k) for k in APPROVAL_FIELDS}
        body["at"] = float(body["at"] or 0.0)
        message = b"agentctl-approval-v1" + _SEP + prev.encode() + _SEP + canonical(body)
        return hmac.digest(self._key, message, "sha256").hex()

    def run(self, fields: Mapping[str, Any], events: Head | None, approvals: Head) -> str:
        left_out = UNSEALED_FIELDS | LIVE_FIELDS if fields.get("status") == "running" else UNSEALED_FIELDS
        sealed = {k: v for k, v in fields.items() if k not in left_out and v is not None}
        body = {
            "run": sealed,
            "events": [events.count, events.last] if events is not None else None,
            "approvals": [approvals.count, approvals.last],
        }
        return hmac.digest(self._key, b"agentctl-run-v1" + _SEP + canonical(body), "sha256").hex()

    def ledger(self, seq: int, run_id: str, started_at: float, prev: str) -> str:
        message = f"agentctl-ledger-v1\x1f{seq}\x1f{run_id}\x1f{float(started_at)!r}\x1f{prev}"
        return hmac.digest(self._key, message.encode(), "sha256").hex()

    def checkpoint(self, body: Mapping[str, Any]) -> str:
        """The MAC of a verified checkpoint of the history (:mod:`agentctl.store.checkpoint`)."""
        return hmac.digest(self._key, b"agentctl-checkpoint-v1" + _SEP + canonical(body), "sha256").hex()


APPROVAL_FIELDS = ("run_id", "seq", "target", "covers", "approver", "decision", "reason", "at")
"""What an approval's MAC covers (``covers`` is a list of ``{rule_id, path, line}``)."""


@dataclass(frozen=True)
class Head:
    """The end of a chain: how many records, and the last one's MAC."""

    count: int
    last: str | None


@dataclass(frozen=True)
class LedgerRow:
    """One entry of the store-wide chain of runs, written when a run is created."""

    seq: int
    run_id: str
    started_at: float
    mac: str


@dataclass(frozen=True)
class EventRow:
    seq: int
    at: float
    kind: str
    payload: str
    mac: str | None


@dataclass
class Integrity:
    """The verdict on one run's record."""

    state: str  # verified | legacy | failed
    problems: list[str] = field(default_factory=list)
    bad_events: list[int] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    """Approvals whose MAC checks out (the only ones to believe)."""

    @property
    def ok(self) -> bool:
        return self.state == VERIFIED

    def summary(self) -> str:
        if self.state == VERIFIED:
            return "verified"
        if self.state == LEGACY:
            return "unverified (legacy): written before records were sealed"
        return "FAILED verification: " + "; ".join(self.problems[:5]) + (" …" if len(self.problems) > 5 else "")

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "problems": self.problems, "bad_events": self.bad_events}


def chain_head(macs: Sequence[str | None]) -> Head:
    return Head(len(macs), macs[-1] if macs else None)


def verify_run(
    sealer: Sealer | None,
    fields: Mapping[str, Any],
    events: Iterable[EventRow] | Head,
    approvals: Sequence[Mapping[str, Any]],
    key_problem: str | None = None,
) -> Integrity:
    """Check a run's seal, its event chain and its approval chain.

    ``events`` as rows checks every event's MAC; as a :class:`Head` (count and
    last MAC, cheap to read for many runs) it checks only the seal, which covers
    every run field and the chain's length and end: enough for trust evidence,
    which reads run fields only.
    """
    run_id = str(fields["id"])
    running = fields.get("status") == "running"
    rows = [] if isinstance(events, Head) else list(events)
    now = events if isinstance(events, Head) else chain_head([r.mac for r in rows])
    seal = fields.get("mac")
    if not seal and (now.last is None if isinstance(events, Head) else not any(r.mac for r in rows)):
        # Written before sealing: never clean evidence; approvals given since then are still checked.
        legacy = Integrity(LEGACY, ["written before records were sealed (no MAC)"])
        if sealer is not None:
            legacy.approvals = _verify_approvals(sealer, run_id, approvals, legacy.problems)
        return legacy
    if sealer is None:
        return Integrity(FAILED, [key_problem or "the store key is missing: nothing can be verified"])
    result = Integrity(VERIFIED)
    result.approvals = _verify_approvals(sealer, run_id, approvals, result.problems)
    if not seal:
        result.problems.append("the run's seal is missing")
    if not isinstance(events, Head):
        result.bad_events = check_events(sealer, run_id, rows, result.problems)
    if seal:
        expected = sealer.run(fields, None if running else now, chain_head([a.get("mac") for a in approvals]))
        if not hmac.compare_digest(expected, str(seal)):
            result.problems.append(
                f"the run record does not match its seal ({now.count} events, {len(approvals)} approvals now):"
                " a field, the last events or an approval were changed, added or removed"
            )
    if result.problems:
        result.state = FAILED
    return result


def check_events(sealer: Sealer, run_id: str, rows: list[EventRow], problems: list[str]) -> list[int]:
    """The event chain: appends what is wrong to ``problems``, returns the sequence numbers not to believe."""
    bad: list[int] = []
    missing: list[int] = []
    changed: list[int] = []
    unsigned: list[int] = []
    prev = ""
    expected_seq = 1
    for row in rows:
        after_gap = row.seq != expected_seq
        if row.seq > expected_seq:
            missing += range(expected_seq, row.seq)
        elif row.seq < expected_seq:
            changed.append(row.seq)
        if not row.mac:
            unsigned.append(row.seq)
            bad.append(row.seq)
        elif not hmac.compare_digest(sealer.event(run_id, row.seq, row.at, row.kind, row.payload, prev), row.mac):
            bad.append(row.seq)
            if not after_gap:  # right after a gap the chain cannot match: the gap is the finding
                changed.append(row.seq)
        prev = row.mac or ""
        expected_seq = row.seq + 1
    if missing:
        problems.append(f"{_seqs('event', missing)} missing (deleted)")
    if changed:
        problems.append(f"{_seqs('event', changed)} changed or moved (MAC mismatch)")
    if unsigned:
        problems.append(f"{_seqs('event', unsigned)} without a MAC: not written by agentctl")
    return bad


def _seqs(noun: str, numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:8]) + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")
    return f"{noun} {shown} is" if len(numbers) == 1 else f"{noun}s {shown} are"


def _verify_approvals(
    sealer: Sealer, run_id: str, approvals: Sequence[Mapping[str, Any]], problems: list[str]
) -> list[dict[str, Any]]:
    good: list[dict[str, Any]] = []
    prev = ""
    for index, approval in enumerate(approvals, 1):
        who = f"approval {index} ({approval.get('decision')} by {approval.get('approver')})"
        mac = approval.get("mac")
        if not mac:
            problems.append(f"{who} has no MAC: not recorded by agentctl, not believed")
        elif approval.get("run_id") != run_id or not hmac.compare_digest(sealer.approval(approval, prev), str(mac)):
            problems.append(f"{who} was changed or moved (MAC mismatch), not believed")
        elif approval.get("seq") != index:
            problems.append(f"{who}: sequence {approval.get('seq')} where {index} was expected (moved or deleted)")
        else:
            good.append(dict(approval))
        prev = str(mac or "")
    return good


def verify_ledger(
    sealer: Sealer | None,
    rows: Sequence[LedgerRow],
    runs: Mapping[str, str | None],
    key_problem: str | None = None,
    *,
    after: tuple[int, str] = (0, ""),
) -> list[str]:
    """The history as a whole: every sealed run is in the ledger, and every ledger entry's run still exists.

    ``runs`` maps each stored run id to its seal. Deleting the newest run together
    with its entry is not visible here (nothing after it to miss it); the sandbox
    is what keeps the agent from writing the store at all. ``after``: the sequence
    number and MAC of the entry before ``rows`` (a part of the ledger checked alone).
    """
    if not rows and not any(runs.values()):
        return []  # nothing sealed yet (a new store, or only legacy runs)
    if sealer is None:
        return [key_problem or "the store key is missing: the run history cannot be verified"]
    problems: list[str] = []
    deleted: list[str] = []
    prev = after[1]
    for expected, row in enumerate(rows, after[0] + 1):
        if row.seq != expected:
            problems.append(f"run history entries {expected} to {row.seq - 1} were deleted")
        if not hmac.compare_digest(sealer.ledger(row.seq, row.run_id, row.started_at, prev), row.mac):
            problems.append(f"run history entry {row.seq} ({row.run_id}) was changed or moved")
        elif row.run_id not in runs:
            deleted.append(row.run_id)
        prev = row.mac
    if deleted:
        problems.append(f"run(s) deleted from the store: {', '.join(deleted[:10])}")
    listed = {row.run_id for row in rows}
    unlisted = sorted(r for r, seal in runs.items() if seal and r not in listed)
    if unlisted:
        problems.append(f"run(s) not in the run history (inserted?): {', '.join(unlisted[:10])}")
    return problems
