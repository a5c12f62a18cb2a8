"""What verify-after-a-call looks at (every name Terraform, OpenTofu or kubectl reads), and which calls repair."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from agentctl.sources import files

_TOFU = (".tofu", ".tofu.json")
_REPAIR_COMMANDS = {("rm",), ("unlink",), ("git", "checkout"), ("git", "restore"), ("git", "rm")}


def is_iac(path: str) -> bool:
    """Terraform/OpenTofu (with tfvars), Kubernetes YAML, plan/manifest JSON, by name."""
    return files.classify(path) is not None or path.endswith(_TOFU)


_HEAVY = frozenset({".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".cache", ".gradle", ".idea", ".next"})
WALK_BUDGET = 5000
"""Entries looked at under git-ignored directories per verify (a huge build output is not walked in full)."""


def under_ignored(root: Path, directories: list[str], budget: int = WALK_BUDGET) -> list[str]:
    """IaC-named files in git-ignored directories (git lists such a directory, not its files).

    An agent can hide a Terraform root or a module from ``git status`` with a ``.gitignore`` naming its
    directory. Symlinked directories are not followed; dependency and tool caches are not walked.
    """
    found: list[str] = []
    for directory in directories:
        parts = directory.strip("/").split("/")
        if any(p in files.SKIP_DIRS or p in _HEAVY for p in parts):
            continue
        for current, dirnames, filenames in os.walk(root / directory.strip("/")):
            budget -= len(dirnames) + len(filenames)
            if budget < 0:
                return found
            dirnames[:] = [d for d in dirnames if d not in files.SKIP_DIRS and d not in _HEAVY]
            rel = Path(current).relative_to(root).as_posix()
            found += [f"{rel}/{name}" for name in filenames if is_iac(name)]
    return found


def tracked_links(root: Path, env: dict[str, str]) -> dict[str, str]:
    """Tracked IaC-named symlinks whose target is a file inside the repository: link path → target path."""
    proc = subprocess.run(
        ["git", "-c", "core.fsmonitor=false", "--no-optional-locks", "ls-files", "-s", "-z"],
        cwd=root,
        env=env,
        capture_output=True,
    )
    base = root.resolve()
    out: dict[str, str] = {}
    for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not entry.startswith("120000 "):
            continue
        link = entry.split("\t", 1)[-1]
        if not is_iac(link):
            continue
        target = Path(os.path.realpath(root / link))
        if target.is_relative_to(base):
            out[link] = target.relative_to(base).as_posix()
    return out


def repairs(call: Any, blocked: set[str]) -> bool:
    """Reading anything, or writing / removing only the offending files."""
    kind = getattr(call, "kind", "")
    if kind == "read":
        return True
    paths = set(getattr(call, "paths", []) or [])
    if kind == "write":
        return bool(paths) and paths <= blocked
    if kind == "shell":
        try:
            words = shlex.split(str(getattr(call, "command", "")))
        except ValueError:
            return False
        if any(ch in str(getattr(call, "command", "")) for ch in ";&|`$<>\n"):
            return False
        prefix = next((p for p in _REPAIR_COMMANDS if tuple(words[: len(p)]) == p), None)
        if prefix is None:
            return False
        targets = {w for w in words[len(prefix) :] if not w.startswith("-")}
        return bool(targets) and targets <= blocked
    return False


def kustomize_named(root: Path, paths: set[str]) -> set[str]:
    """The ``paths`` a kustomization in the repository names as objects (Kustomize reads any extension)."""
    if not paths:
        return set()
    from agentctl.gate import overlays
    from agentctl.sources import kustomize

    listing = overlays.repo_listing(root)
    if not listing or not kustomize.overlays(listing):
        return set()
    return set(kustomize.reaching(sorted(paths), listing, overlays.reader(root.resolve(), {})))
