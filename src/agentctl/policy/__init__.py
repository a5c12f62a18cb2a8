"""Policy files: loading, strict validation with file/line errors, and the built-in pack."""

from __future__ import annotations

from pathlib import Path


def default_dirs(root: Path) -> list[Path]:
    """``./policies`` when it exists: the default for check, run and the gate."""
    candidate = root / "policies"
    return [candidate] if candidate.is_dir() else []
