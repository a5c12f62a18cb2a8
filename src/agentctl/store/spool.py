"""A run recorded with a server store (PostgreSQL): kept locally first, mirrored to the server as it goes.

``agentctl run`` with ``AGENTCTL_STORE=postgresql://…`` records into a local
SQLite file under ``.agentctl/spool/`` (same schema, same key, same MACs) and
sends every write on to the server as soon as it is committed locally. The
server sees the run live (a killed run is marked ``interrupted`` there by the
next reader); the run never waits for the network, and a server that cannot
be reached — at the start or halfway — loses nothing: the run goes on
locally, the command ends with exit 2, and the spool file is imported later
with ``agentctl runs import FILE`` (idempotent; seals stay valid, the key is
the repository's own). When the server took every write, the spool file is
deleted at the end of the run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentctl.store.errors import StoreError
from agentctl.store.integrity import Sealer
from agentctl.store.location import SPOOL_DIR
from agentctl.store.postgres import redact
from agentctl.store.sqlite import RunRecord, Store

SUFFIXES = ("", "-wal", "-shm", "-journal")


class Mirror:
    """The server store a spooled run is sent to, and the first reason it stopped taking writes."""

    def __init__(self, url: str, key_dir: Path) -> None:
        self.url = url
        self.key_dir = key_dir
        self.error: str | None = None

    @property
    def location(self) -> str:
        return redact(self.url)

    def connect(self) -> Store:
        return Store(self.key_dir / "agentctl.db", self.url, key_dir=self.key_dir)

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            text = str(getattr(exc, "message", exc)).replace(self.url, self.location)
            for prefix in (f"cannot reach the run store {self.location}: ", f"run store {self.location}: "):
                text = text.removeprefix(prefix)  # the message names the store once already
            self.error = text


class SpooledStore(Store):
    """The local spool store of one run, with every write also sent to the server store (while it answers)."""

    def __init__(self, key_dir: Path, url: str) -> None:
        spool = key_dir / SPOOL_DIR
        spool.mkdir(parents=True, exist_ok=True)
        name = time.strftime("%Y%m%d-%H%M%S-") + f"{os.getpid()}-{secrets.token_hex(3)}.db"
        super().__init__(spool / name, "", key_dir=key_dir)
        self.mirror = Mirror(url, key_dir)
        self.remote: Store | None = None
        try:
            self.remote = self.mirror.connect()
        except StoreError as exc:
            self.mirror.fail(exc)

    def _send(self, action: Callable[[Store], Any]) -> None:
        if self.remote is None or self.mirror.error is not None:
            return
        try:
            action(self.remote)
        except StoreError as exc:
            self.mirror.fail(exc)

    def sealer(self, *, create: bool) -> Sealer | None:
        if create and self.remote is not None and self.mirror.error is None:
            from agentctl.store.errors import StoreUnavailable

            try:  # a key missing here while the server holds records sealed with it: refuse, as without a spool
                self.remote.sealer(create=True)
            except StoreUnavailable as exc:
                self.mirror.fail(exc)
        return super().sealer(create=create)

    def mark_orphans(self) -> list[str]:
        orphans = super().mark_orphans()
        self._send(lambda remote: remote.mark_orphans())
        return orphans

    def create_run(self, run: RunRecord) -> None:
        super().create_run(run)
        self._send(lambda remote: remote.db.hold_run(run.id))  # before the run is there to be seen as orphaned
        self._send(lambda remote: remote.create_run(run))

    def update_run(self, run_id: str, **fields: Any) -> None:
        super().update_run(run_id, **fields)
        self._send(lambda remote: remote.update_run(run_id, **fields))

    def add_approval(self, run_id: str, approver: str, decision: str, reason: str, **binding: Any) -> dict[str, Any]:
        approval = super().add_approval(run_id, approver, decision, reason, **binding)
        self._send(lambda remote: remote.put_approval(approval))
        return approval

    def add_model_request(self, run_id: str, record: dict[str, Any]) -> None:
        super().add_model_request(run_id, record)
        self._send(lambda remote: remote.add_model_request(run_id, record))

    def close(self) -> None:
        super().close()
        if self.remote is not None:
            with contextlib.suppress(StoreError):
                self.remote.close()
            self.remote = None

    def finish(self, run_id: str | None) -> Path | None:
        """After :meth:`close`: the spool file to import later (renamed after the run), or ``None`` when the
        server took every write and the file is gone."""
        if self.mirror.error is None:
            for suffix in SUFFIXES:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
            return None
        if run_id is None:
            return self.path
        kept = self.path.with_name(f"{run_id}.db")
        with contextlib.suppress(OSError):
            os.replace(self.path, kept)
            return kept
        return self.path


def key_dir_of(spool_file: Path) -> Path:
    """The ``.agentctl/`` whose key sealed a spool file (``.agentctl/spool/X.db``), or the file's own directory."""
    parent = spool_file.resolve().parent
    return parent.parent if parent.name == SPOOL_DIR else parent
