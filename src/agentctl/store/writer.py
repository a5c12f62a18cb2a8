"""The run's event writer: a thread with its own store connection, MACs computed off the agent's path."""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.store.errors import StoreError
from agentctl.store.sqlite import Store
from agentctl.store.writes import put_events

if TYPE_CHECKING:
    from agentctl.store.spool import Mirror

QUEUE_LIMIT = 2000
MIRROR_ATTEMPTS = 2
"""A batch the server did not take is sent again once over a new connection (retries are stored once)."""


class EventWriter:
    """Writes a run's events from a thread with its own connection.

    Each event is committed as soon as the writer gets to it (no deliberate
    delay); when events arrive faster than SQLite commits, the ones waiting are
    committed together. The agent's stream is never slowed by the disk, and a
    SIGKILL loses at most the events still queued (microseconds' worth).

    With a ``mirror`` (a server store, see :mod:`agentctl.store.spool`), each
    batch committed locally is then sent to the server as it is, MACs included;
    a server that stops answering is recorded on the mirror and the run goes on
    locally, losing nothing.
    """

    _STOP = object()

    def __init__(
        self, path: Path, url: str | None = None, *, key_dir: Path | None = None, mirror: Mirror | None = None
    ) -> None:
        self._store = Store(path, url, key_dir=key_dir)
        self._mirror = mirror
        self._remote: Store | None = None
        # Bounded: if the disk falls behind, the reader waits instead of memory growing.
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="agentctl-store", daemon=True)
        self._thread.start()

    def append(
        self, run_id: str, seq: int, kind: str, at: float, payload: str, counters: dict[str, Any] | None
    ) -> None:
        self._queue.put((run_id, seq, kind, at, payload, counters))

    def flush(self) -> None:
        """Block until everything queued so far is committed."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()
        if self._error is not None:
            raise StoreError(f"cannot write the run record: {self._error}", "check disk space and permissions")

    def close(self) -> None:
        self.flush()
        self._queue.put(self._STOP)
        self._thread.join()
        self._store.close()
        if self._remote is not None:
            with contextlib.suppress(StoreError):
                self._remote.close()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while len(batch) < 1000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [b for b in batch if isinstance(b, tuple)]
            if events and self._error is None:
                try:
                    rows, latest = self._write(events)
                except (sqlite3.Error, StoreError) as exc:
                    self._error = exc
                else:
                    self._send(rows, latest)
            for marker in batch:
                if isinstance(marker, threading.Event):
                    marker.set()
            if any(b is self._STOP for b in batch):
                return

    def _write(self, events: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], dict[str, dict[str, Any]]]:
        store = self._store
        rows = [
            (run_id, seq, at, kind, payload, store.chain_event(run_id, seq, at, kind, payload))
            for run_id, seq, kind, at, payload, _ in events
        ]
        latest: dict[str, dict[str, Any]] = {}
        for run_id, *_, counters in events:
            if counters:
                latest[run_id] = counters
        try:
            _put(store, rows, latest)
        except BaseException:
            store._heads.clear()  # MACs computed for rows never stored: the next batch reads the chain back
            raise
        return rows, latest

    def _send(self, rows: list[tuple[Any, ...]], latest: dict[str, dict[str, Any]]) -> None:
        """The same rows to the server store, if there is one and it still answers."""
        mirror = self._mirror
        if mirror is None or mirror.error is not None:
            return
        for attempt in range(MIRROR_ATTEMPTS):
            try:
                if self._remote is None:
                    self._remote = mirror.connect()
                _put(self._remote, rows, latest)
                return
            except StoreError as exc:
                if self._remote is not None:
                    with contextlib.suppress(Exception):
                        self._remote.close()
                self._remote = None
                if attempt == MIRROR_ATTEMPTS - 1:
                    mirror.fail(exc)


def _put(store: Store, rows: list[tuple[Any, ...]], latest: dict[str, dict[str, Any]]) -> None:
    """One batch of events and the runs' latest totals, in one transaction.

    On PostgreSQL a run's events and live totals are its own rows: concurrent runs do not wait on each
    other's batches (the store-wide lock is for the ledger and seals). SQLite has one writer anyway.
    """
    shared = store.backend == "postgresql"
    finished: list[str] = []
    with store._transaction(serial=not shared):
        put_events(store.db, rows)
        for run_id, counters in latest.items():
            if not shared:
                store._update(run_id, counters)
            elif not store._update_live(run_id, counters):
                finished.append(run_id)  # no longer running: re-sealing needs the lock
    for run_id in finished:
        store.update_run(run_id, **latest[run_id])
