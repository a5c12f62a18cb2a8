"""Policy files: loading, strict validation with file/line errors, and the built-in pack."""

from __future__ import annotations

from pathlib import Path


def default_dirs(start: Path) -> list[Path]:
    """The nearest ``policies/`` from ``start`` up to the repository root: the default for check, run and the gate.

    Run from ``envs/dev/``, a repository's ``./policies`` still applies; the search
    stops at the directory holding ``.git`` (never a parent project's policies), and
    outside a repository only ``start`` itself is looked at.
    """
    start = start.absolute()
    inside_repo = any((d / ".git").exists() for d in (start, *start.parents))
    for directory in (start, *start.parents):
        candidate = directory / "policies"
        if candidate.is_dir():
            return [candidate]
        if not inside_repo or (directory / ".git").exists():
            break
    return []
