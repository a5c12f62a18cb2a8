"""What a sandbox leaves on disk when its agentctl is killed, written down first and removed at the next start.

A protected path that does not exist gets an empty read-only placeholder
directory in the repository for the run (so the agent cannot create it), and
the private home is built in a scratch directory. Both go when the run ends —
unless agentctl is SIGKILLed (or the machine stops). So each sandbox first
writes a small record under ``.agentctl/run/sandbox/`` (read-only for the
agent) naming its process, its scratch directory and every placeholder
*before* making it; the next sandboxed run in the repository removes what the
records of dead processes name: placeholders only while still empty, scratch
directories only where agentctl makes them. Left behind, ``agentctl.yaml`` or
``.mcp.json`` as an empty directory would break the next run, and the
scratch copies stay in memory-backed ``/dev/shm``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from pathlib import Path

RECORDS = Path(".agentctl") / "run" / "sandbox"
SCRATCH_PREFIX = "agentctl-sandbox-"


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), which tells a reused pid apart; None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "?"
    return raw[raw.rfind(")") + 2 :].split()[19]


def _alive(owner: dict[str, object]) -> bool:
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if Path("/proc/self/stat").exists():
        started = _started(pid)
        return started is not None and started in ("?", owner.get("started"))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class Leftovers:
    """The record of one sandbox: opened before anything is made on disk, removed once all of it is gone."""

    def __init__(self, work: Path) -> None:
        self.directory = work / RECORDS
        self.file: Path | None = None

    def begin(self, scratch: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.file = self.directory / f"{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        owner: dict[str, object] = {"pid": os.getpid(), "started": _started(os.getpid()), "scratch": str(scratch)}
        self._append(owner)

    def note(self, placeholder: Path) -> None:
        """Call before creating ``placeholder``: a kill between the two leaves a name, never an unlisted dir."""
        self._append({"placeholder": str(placeholder)})

    def end(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.unlink()
            self.file = None

    def _append(self, entry: dict[str, object]) -> None:
        if self.file is None:
            return
        with open(self.file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def sweep(work: Path) -> list[Path]:
    """Remove what the sandboxes of dead agentctl processes left in ``work``; returns what was removed."""
    removed: list[Path] = []
    try:
        records = sorted((work / RECORDS).glob("*.jsonl"))
    except OSError:
        return removed
    for record in records:
        entries = _read(record)
        if not entries:  # killed while writing its first line: nothing was made yet
            with contextlib.suppress(OSError):
                if time.time() - record.stat().st_mtime > 60:
                    record.unlink()
            continue
        if _alive(entries[0]):
            continue
        placeholders = [Path(str(e["placeholder"])) for e in entries[1:] if isinstance(e.get("placeholder"), str)]
        for path in sorted(placeholders, key=lambda p: len(p.parts), reverse=True):
            if not path.is_absolute() or path.is_symlink():
                continue
            with contextlib.suppress(OSError):
                path.rmdir()  # only while empty: never what someone put there since
                removed.append(path)
        scratch = entries[0].get("scratch")
        if isinstance(scratch, str) and _ours(Path(scratch)):
            shutil.rmtree(scratch, ignore_errors=True)
            removed.append(Path(scratch))
        with contextlib.suppress(OSError):
            record.unlink()
    return removed


def _ours(scratch: Path) -> bool:
    """A scratch directory agentctl made: named so, directly in the temporary directory, ours, not a link."""
    import tempfile

    if not scratch.name.startswith(SCRATCH_PREFIX) or scratch.is_symlink() or not scratch.is_dir():
        return False
    bases = {Path("/dev/shm"), Path(tempfile.gettempdir())}
    try:
        return scratch.parent in bases and scratch.stat().st_uid == os.getuid()
    except OSError:
        return False


def _read(record: Path) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    try:
        lines = record.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return entries
    for line in lines:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append(entry)
    return entries
