"""Which repository a run belongs to, the same for every clone and CI runner of it.

The identity is the ``origin`` remote's URL normalised (no scheme, user or
password, no ``.git``, host lower-cased: ``git@github.com:Org/App.git`` and
``https://token@github.com/Org/App`` are both ``github.com/Org/App``); a
repository without a remote is ``local:`` + its root's path.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def normalise(url: str) -> str:
    url = url.strip()
    scp = re.match(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$", url)
    if scp and "://" not in url:
        host, path = scp.groups()
    else:
        rest = re.sub(r"^[a-zA-Z][\w+.-]*://", "", url)
        rest = rest.rsplit("@", 1)[-1] if "@" in rest.split("/", 1)[0] else rest
        host, _, path = rest.partition("/")
        host = re.sub(r":\d+$", "", host) if not url.startswith(("http://", "https://")) else host
    path = re.sub(r"(\.git)?/*$", "", path.strip("/"))
    return f"{host.lower()}/{path}" if host else path


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def of(root: Path | None) -> tuple[str | None, str | None]:
    """(repository identity, default branch) of the work tree at ``root``."""
    if root is None:
        return None, None
    remote = _git(root, "config", "--get", "remote.origin.url")
    ident = normalise(remote) if remote else f"local:{root.resolve()}"
    head = _git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
    branch = head.removeprefix("refs/remotes/origin/") if head else _git(root, "config", "--get", "init.defaultBranch")
    return ident, branch
