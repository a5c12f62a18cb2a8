"""Who is acting: the CI user when in CI, otherwise the git identity."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def in_ci() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS") or os.environ.get("GITLAB_CI"))


def current(cwd: Path | None = None) -> str:
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if os.environ.get(variable):
            return os.environ[variable]
    for key in ("user.email", "user.name"):
        try:
            value = subprocess.run(
                ["git", "config", key], cwd=cwd, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            value = ""
        if value:
            return value
    return os.environ.get("USER") or "unknown"
