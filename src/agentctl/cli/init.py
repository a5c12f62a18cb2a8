"""Wiring of ``agentctl init``."""

from __future__ import annotations

import sys
from pathlib import Path

from agentctl.cli.main import UsageError
from agentctl.exitcodes import ExitCode


def init(path: Path, *, write: bool, force: bool) -> int:
    from agentctl.scaffold.init import Outcome, scaffold, snippets

    if not path.is_dir():
        raise UsageError(f"{path} is not a directory", "run agentctl init inside your repository")
    try:
        steps = scaffold(path, write_snippets=write, force=force)
    except OSError as exc:
        raise UsageError(f"cannot write to {path}: {exc.strerror}", "check permissions") from None
    for step in steps:
        note = f"  ({step.note})" if step.note else ""
        sys.stderr.write(f"{step.outcome.value:<11} {step.path}{note}\n")
    if not write:
        for snippet in snippets():
            sys.stdout.write(f"\n# --- {snippet.title}: save as {snippet.path} ({snippet.hint})\n{snippet.text}")
        sys.stderr.write("\nagentctl init: snippets printed; --write saves them as files.\n")
    else:
        for snippet in snippets():
            sys.stderr.write(f"{snippet.title}: {snippet.hint}\n")
    if any(step.outcome is Outcome.SKIPPED for step in steps):
        sys.stderr.write("some files exist and differ; they were left alone (--force overwrites them)\n")
    return int(ExitCode.PASSED)
