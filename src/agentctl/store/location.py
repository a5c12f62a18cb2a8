"""Where a repository's run store is (``AGENTCTL_STORE``, ``--store`` or ``.agentctl/``), and whose runs to read."""

from __future__ import annotations

import os
from pathlib import Path

SPOOL_DIR = "spool"
"""``.agentctl/spool/``: runs recorded locally while the configured server store could not be reached."""


def configured_url() -> str | None:
    """The PostgreSQL URL in ``AGENTCTL_STORE``, if that is what it holds."""
    from agentctl.store.postgres import is_url

    explicit = os.environ.get("AGENTCTL_STORE", "")
    return explicit if is_url(explicit) else None


def default_path(repo_root: Path) -> Path:
    """The SQLite file (``AGENTCTL_STORE`` as a path or ``sqlite:///path``); with a server URL, the local
    ``.agentctl/`` file whose directory holds the repository's store key."""
    explicit = os.environ.get("AGENTCTL_STORE", "")
    if explicit.startswith("sqlite:///"):
        return Path(explicit[len("sqlite:///") :])
    if explicit and "://" not in explicit:
        return Path(explicit)
    return repo_root / ".agentctl" / "agentctl.db"


def current_repo(cwd: Path) -> str | None:
    """The identity of the repository at ``cwd`` (what readers filter to without ``--all-repos``)."""
    from agentctl.sources import gitcli
    from agentctl.store import identity

    return identity.of(gitcli.toplevel(cwd))[0]


def alive(pid: int | None) -> bool:
    """The recording agentctl process ``pid`` is still running (on this host)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid
    return b"agentctl" in cmdline
