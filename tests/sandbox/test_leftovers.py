"""What the next start removes of a killed sandbox's leftovers, and what it must leave alone."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from agentctl.sandbox.leftovers import RECORDS, SCRATCH_PREFIX, Leftovers, sweep


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_dead_runs_leftovers_go_and_only_while_empty(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    live = Leftovers(work)  # this process: a run still going on beside the new one
    live_scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    live.begin(live_scratch)
    live.note(work / "agentctl.yaml")
    (work / "agentctl.yaml").mkdir()

    dead_scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    (dead_scratch / "home").mkdir()
    outside = tmp_path / "not-a-scratch"
    outside.mkdir()
    records = work / RECORDS
    lines = [
        {"pid": _dead_pid(), "started": "1", "scratch": str(dead_scratch)},
        {"placeholder": str(work / ".github")},
        {"placeholder": str(work / ".github" / "workflows")},
        {"placeholder": str(work / ".mcp.json")},
        {"placeholder": str(work / ".claude")},
        {"placeholder": "relative/path"},
    ]
    (records / "1-dead.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + '\n{"placeholder": "/tr')
    (records / "2-dead.jsonl").write_text(json.dumps({"pid": _dead_pid(), "scratch": str(outside)}) + "\n")
    for name in (".github/workflows", ".mcp.json", ".claude"):
        (work / name).mkdir(parents=True)
    (work / ".claude" / "settings.json").write_text("{}")  # written since by someone: not a placeholder any more

    removed = sweep(work)

    assert not (work / ".github").exists() and not (work / ".mcp.json").exists() and not dead_scratch.exists()
    assert (work / ".claude" / "settings.json").exists()
    assert outside.is_dir()  # a "scratch" agentctl never makes is never removed
    assert (work / "agentctl.yaml").is_dir() and live_scratch.is_dir()  # the live run's are untouched
    assert sorted(p.name for p in records.glob("*.jsonl")) == [live.file.name if live.file else ""]
    assert work / ".mcp.json" in removed
    live.end()
    live_scratch.rmdir()
    assert not list(records.glob("*.jsonl"))
