"""The SQL side of tamper-evident records: the store's key, chain heads, seals and approvals.

The MACs and the verification itself live in :mod:`agentctl.store.integrity`
(pure Python over decoded values, shared by every backend); this mixin only
reads and writes the rows they cover, inside the store's transactions.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.model.run import RunStatus
from agentctl.store import integrity
from agentctl.store.errors import StoreError
from agentctl.store.integrity import EventRow, Head, Integrity, LedgerRow, Sealer

if TYPE_CHECKING:
    from agentctl.store.sqlite import RunRecord

APPROVAL_COLUMNS = ("run_id", "seq", "target", "covers", "approver", "decision", "reason", "at", "mac")


class SealedStore:
    """Mixed into :class:`agentctl.store.sqlite.Store`."""

    db: Any  # sqlite3.Connection, or agentctl.store.postgres.Connection
    path: Path
    key_dir: Path
    location: str
    _sealer: Sealer | None = None
    _key_problem: str | None = None
    _heads: dict[str, tuple[int, str]]

    def _record(self, row: tuple[Any, ...]) -> RunRecord:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    # -- sealing -----------------------------------------------------------
    def sealer(self, *, create: bool) -> Sealer | None:
        """The key's MAC functions; ``create``: make the key on first write (readers never do)."""
        if self._sealer is None:
            try:
                key_file = self.key_dir / integrity.KEY_NAME
                key = integrity.read_key(key_file)
                if key is None and create:
                    if self.db.execute("SELECT 1 FROM runs WHERE mac IS NOT NULL LIMIT 1").fetchone():
                        raise StoreError(
                            f"the store key {key_file} is missing, but {self.path} holds records sealed with it",
                            "restore the key from a backup, or move the store aside to start a new history",
                        )
                    key = integrity.load_or_create_key(key_file)
            except integrity.StoreKeyError as exc:
                if create:
                    raise StoreError(
                        str(exc), "only agentctl itself, outside an agent's run, writes the store"
                    ) from None
                self._key_problem = str(exc)
                return None
            if key is None:
                self._key_problem = f"the store key {key_file} is missing: records cannot be verified"
                return None
            self._sealer = Sealer(key)
        return self._sealer

    def _writing_sealer(self) -> Sealer:
        sealer = self.sealer(create=True)
        assert sealer is not None
        return sealer

    def chain_event(self, run_id: str, seq: int, at: float, kind: str, payload: str) -> str:
        """The MAC of the run's next event, chained to the one before it."""
        head = self._heads.get(run_id)
        if head is None or head[0] != seq - 1:
            # Not the next one in this process (a new writer, or a retry after a failed write): the stored one before.
            row = self.db.execute("SELECT mac FROM events WHERE run_id = ? AND seq = ?", (run_id, seq - 1)).fetchone()
            head = (seq - 1, str(row[0] or "") if row else "")
        mac = self._writing_sealer().event(run_id, seq, at, kind, payload, head[1])
        self._heads[run_id] = (seq, mac)
        return mac

    def _fields(self, run_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return dataclasses.asdict(self._record(row)) if row else None

    def _heads_of(self, run_id: str, fields: dict[str, Any]) -> tuple[Head | None, Head]:
        events = None
        if fields.get("status") != RunStatus.RUNNING.value:
            count, last = self.db.execute(
                "SELECT COUNT(*), (SELECT mac FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1)"
                " FROM events WHERE run_id = ?",
                (run_id, run_id),
            ).fetchone()
            events = Head(int(count), last)
        approvals = self._approval_rows(run_id)
        return events, Head(len(approvals), approvals[-1]["mac"] if approvals else None)

    def _seal_holds(
        self, run_id: str, fields: dict[str, Any] | None, heads: tuple[Head | None, Head] | None = None
    ) -> bool:
        """The run carries a seal and it matches (only then may a write re-seal it)."""
        if not fields or not fields.get("mac"):
            return False
        sealer = self.sealer(create=False)
        if sealer is None:
            return False
        expected = sealer.run(fields, *(heads or self._heads_of(run_id, fields)))
        return expected == str(fields["mac"])

    def _reseal(self, run_id: str, heads: tuple[Head | None, Head] | None = None) -> None:
        """``heads``: the chains' heads read in this transaction already (a field update leaves them as they are)."""
        fields = self._fields(run_id)
        if fields is None:
            return
        running = fields.get("status") == RunStatus.RUNNING.value
        if heads is None or (heads[0] is None) != running:  # a run that just finished: its events are sealed now
            heads = self._heads_of(run_id, fields)
        mac = self._writing_sealer().run(fields, *heads)
        self.db.execute("UPDATE runs SET mac = ? WHERE id = ?", (mac, run_id))

    def _append_ledger(self, run_id: str, started_at: float) -> None:
        """The store-wide chain of runs: a whole run deleted leaves a gap or a dangling entry."""
        last = self.db.execute("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, "")
        mac = self._writing_sealer().ledger(seq, run_id, started_at, prev)
        self.db.execute(
            "INSERT INTO ledger (seq, run_id, started_at, mac) VALUES (?, ?, ?, ?)", (seq, run_id, started_at, mac)
        )

    def verify_ledger(self) -> list[str]:
        """Problems with the history as a whole (runs deleted, entries forged); empty when it holds."""
        rows = [
            LedgerRow(int(seq), str(run_id), float(at), str(mac))
            for seq, run_id, at, mac in self.db.execute("SELECT seq, run_id, started_at, mac FROM ledger ORDER BY seq")
        ]
        runs = {str(r[0]): r[1] for r in self.db.execute("SELECT id, mac FROM runs")}
        return integrity.verify_ledger(self.sealer(create=False), rows, runs, self._key_problem)

    def _event_rows(self, run_id: str) -> list[EventRow]:
        return [
            EventRow(int(seq), float(at), kind, payload, mac)
            for seq, at, kind, payload, mac in self.db.execute(
                "SELECT seq, at, kind, payload, mac FROM events WHERE run_id = ? ORDER BY seq", (run_id,)
            )
        ]

    def _chain_holds(self, run_id: str) -> bool:
        """Every event of the run is there, in order, as agentctl wrote it."""
        sealer = self.sealer(create=False)
        problems: list[str] = []
        if sealer is None:
            return False
        integrity.check_events(sealer, run_id, self._event_rows(run_id), problems)
        return not problems

    def verify(self, run_id: str) -> Integrity:
        """Seal, event chain and approvals of one run (see :func:`agentctl.store.integrity.verify_run`)."""
        fields = self._fields(run_id)
        if fields is None:
            raise StoreError(f"no run '{run_id}' in {self.location}", "list runs with: agentctl runs list")
        sealer = self.sealer(create=False)
        return integrity.verify_run(
            sealer, fields, self._event_rows(run_id), self._approval_rows(run_id), self._key_problem
        )

    def verify_all(self, runs: Sequence[RunRecord], *, full: bool = False) -> dict[str, Integrity]:
        """Many runs: by default seals only (every run field, the chains' length and end) in three queries."""
        if full:
            return {run.id: self.verify(run.id) for run in runs}
        approvals: dict[str, list[dict[str, Any]]] = {}
        for approval in self._approval_rows(None):
            approvals.setdefault(str(approval["run_id"]), []).append(approval)
        return self._verify_seals(runs, self._chain_ends(None), approvals)

    def _verify_seals(
        self, runs: Sequence[RunRecord], heads: dict[str, Head], approvals: dict[str, list[dict[str, Any]]]
    ) -> dict[str, Integrity]:
        """Seal-only verification of ``runs`` (every run field, the chains' length and end)."""
        sealer = self.sealer(create=False)
        return {
            run.id: integrity.verify_run(
                sealer,
                dataclasses.asdict(run),
                heads.get(run.id, Head(0, None)),
                approvals.get(run.id, []),
                self._key_problem,
            )
            for run in runs
        }

    def _chain_ends(self, ids: Sequence[str] | None) -> dict[str, Head]:
        """Each run's event count and last MAC: of every run (``None``), or of ``ids`` in batches."""
        query = (
            "SELECT e.run_id, x.n, e.mac FROM events e JOIN"
            " (SELECT run_id, COUNT(*) AS n, MAX(seq) AS last FROM events{} GROUP BY run_id) x"
            " ON e.run_id = x.run_id AND e.seq = x.last"
        )
        if ids is None:
            return {str(r): Head(int(n), mac) for r, n, mac in self.db.execute(query.format(""))}
        heads: dict[str, Head] = {}
        for start in range(0, len(ids), 500):
            batch = list(ids[start : start + 500])
            where = f" WHERE run_id IN ({', '.join('?' * len(batch))})"
            for run_id, n, mac in self.db.execute(query.format(where), batch):
                heads[str(run_id)] = Head(int(n), mac)
        return heads

    def add_approval(
        self,
        run_id: str,
        approver: str,
        decision: str,
        reason: str,
        *,
        target: str = "run",
        covers: Sequence[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """A human's decision, bound to the run and to what it approves (``target``, ``covers``), MAC-chained."""
        sealer = self._writing_sealer()
        with self._transaction():
            previous = self._approval_rows(run_id)
            approval: dict[str, Any] = {
                "run_id": run_id,
                "seq": len(previous) + 1,
                "target": target,
                "covers": [dict(c) for c in covers],
                "approver": approver,
                "decision": decision,
                "reason": reason,
                "at": time.time(),
            }
            approval["mac"] = sealer.approval(approval, str(previous[-1]["mac"] or "") if previous else "")
            self._insert_approval(approval)
        return approval

    def put_approval(self, approval: dict[str, Any]) -> bool:
        """An approval recorded elsewhere (MAC included): stored once, a different one under its key refused."""
        from agentctl.store.writes import check_same

        with self._transaction():
            stored = [
                a
                for a in self._approval_rows(str(approval["run_id"]))
                if a["at"] == approval["at"] and a["approver"] == approval["approver"]
            ]
            if stored:
                check_same(f"the approval of run {approval['run_id']} by {approval['approver']}", stored[0], approval)
                return False
            self._insert_approval(approval)
        return True

    def _insert_approval(self, approval: dict[str, Any]) -> None:
        run_id = str(approval["run_id"])
        holds = self._seal_holds(run_id, self._fields(run_id))
        self.db.execute(
            f"INSERT INTO approvals ({', '.join(APPROVAL_COLUMNS)}) VALUES ({', '.join('?' * 9)})",
            tuple(json.dumps(approval[c]) if c == "covers" else approval[c] for c in APPROVAL_COLUMNS),
        )
        if holds:
            self._reseal(run_id)

    def _approval_rows(self, run_id: str | None) -> list[dict[str, Any]]:
        query = f"SELECT {', '.join(APPROVAL_COLUMNS)} FROM approvals"
        order = " ORDER BY run_id, seq IS NULL, seq, at, rowid"
        rows = self.db.execute(
            query + (" WHERE run_id = ?" if run_id else "") + order, (run_id,) if run_id else ()
        ).fetchall()
        out = []
        for row in rows:
            approval = dict(zip(APPROVAL_COLUMNS, row, strict=True))
            try:
                approval["covers"] = json.loads(approval["covers"]) if approval["covers"] else []
            except ValueError:
                approval["covers"] = []
            out.append(approval)
        return out
