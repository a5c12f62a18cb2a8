"""Plain ``git`` queries by subprocess: repository root, HEAD, commits and reverts.

For the paths that must stay light (``agentctl run`` before the agent starts)
and for history scans; diffs and blobs go through ``gitrepo`` (also plain git, with its listings cached).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
"""The line ``git revert`` writes into the message of a revert commit."""


@dataclass(frozen=True)
class Commit:
    sha: str
    time: int
    message: str


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def names(cwd: Path, args: list[str], timeout: float = 10) -> list[str] | None:
    """What ``git ARGS`` prints, one name (or entry) per item: split on NUL with ``-z``, else on newlines (file
    names kept byte for byte); None when git fails or times out. fsmonitor off; nothing on its input."""
    try:
        proc = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", "-C", str(cwd), *args],
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    text = proc.stdout.decode("utf-8", "surrogateescape")
    return [name for name in text.split("\0" if "-z" in args else "\n") if name]


def toplevel(cwd: Path) -> Path | None:
    """The work tree's root, or ``None`` outside git."""
    try:
        proc = _git(cwd, "rev-parse", "--show-toplevel")
    except OSError:
        return None
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def resolve(root: Path, rev: str) -> str | None:
    """The full commit sha of ``rev``, or ``None`` when it names no commit."""
    proc = _git(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
    return proc.stdout.strip() or None


def head(root: Path) -> str | None:
    return resolve(root, "HEAD")


def commits(root: Path, *revs: str) -> list[Commit]:
    """Commits of ``git log REVS``, newest first, with their full messages."""
    out = _git(root, "log", "--format=%H%x00%ct%x00%B%x01", *(revs or ("HEAD",))).stdout
    found = []
    for entry in out.split("\x01"):
        parts = entry.strip().split("\x00")
        if len(parts) == 3:
            found.append(Commit(parts[0], int(parts[1]), parts[2]))
    return found


def reverted_by(root: Path, commit: Commit) -> list[str]:
    """Full shas of the commits ``commit`` reverts (from its ``This reverts commit`` lines)."""
    return [sha for sha in (resolve(root, short) for short in REVERTS.findall(commit.message)) if sha]
