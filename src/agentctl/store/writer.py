"""The run's event writer: a thread with its own SQLite connection, MACs computed off the agent's path."""

from __future__ import annotations

import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any

from agentctl.store.errors import StoreError
from agentctl.store.sqlite import Store

QUEUE_LIMIT = 2000


class EventWriter:
    """Writes a run's events from a thread with its own connection.

    Each event is committed as soon as the writer gets to it (no deliberate
    delay); when events arrive faster than SQLite commits, the ones waiting are
    committed together. The agent's stream is never slowed by the disk, and a
    SIGKILL loses at most the events still queued (microseconds' worth).
    """

    _STOP = object()

    def __init__(self, path: Path, url: str | None = None) -> None:
        self._store = Store(path, url)
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
                    self._write(events)
                except (sqlite3.Error, StoreError) as exc:
                    self._error = exc
            for marker in batch:
                if isinstance(marker, threading.Event):
                    marker.set()
            if any(b is self._STOP for b in batch):
                return

    def _write(self, events: list[tuple[Any, ...]]) -> None:
        store = self._store
        latest: dict[str, dict[str, Any]] = {}
        for run_id, *_, counters in events:
            if counters:
                latest[run_id] = counters
        shared = store.backend == "postgresql"
        finished: list[str] = []
        # On PostgreSQL a run's events and live totals are its own rows: concurrent runs do not wait on
        # each other's batches (the store-wide lock is for the ledger and seals).
        with store._transaction(serial=not shared):
            store.db.executemany(
                "INSERT INTO events (run_id, seq, at, kind, payload, mac) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, seq, at, kind, payload, store.chain_event(run_id, seq, at, kind, payload))
                    for run_id, seq, kind, at, payload, _ in events
                ],
            )
            for run_id, counters in latest.items():
                if shared and not store._update_live(run_id, counters):
                    finished.append(run_id)  # no longer running: re-sealing needs the lock
                elif not shared:
                    store._update(run_id, counters)
        for run_id in finished:
            store.update_run(run_id, **latest[run_id])
