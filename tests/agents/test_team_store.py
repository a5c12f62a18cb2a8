"""Two clones of one repository record real agent runs into one PostgreSQL store; trust in either sees both."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import GitRepo, agentctl_binary
from tests.store.conftest import new_database, pg_server  # noqa: F401  (the session's private cluster)


def _clone(origin: Path, dest: Path) -> GitRepo:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True, capture_output=True)
    return GitRepo(dest)


def test_two_clones_share_one_run_history(harness, server_factory, pg_server: str) -> None:  # noqa: F811
    url = new_database(pg_server)
    origin = harness.tmp / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(harness.repo.root), str(origin)], check=True)
    clones = [_clone(origin, harness.tmp / "runner-a"), _clone(origin, harness.tmp / "runner-b")]
    summaries = []
    for clone, agent in zip(clones, ("claude", "codex"), strict=True):
        if clone is clones[1]:  # the team shares the store key (README: store backends)
            (clone.root / ".agentctl").mkdir()
            shutil.copy(clones[0].root / ".agentctl" / "store.key", clone.root / ".agentctl" / "store.key")
        tool = {"tool": "Bash", "input": {"command": "echo hi"}}
        if agent == "codex":
            tool = {"tool": "exec_command", "input": {"cmd": "echo hi"}}
        server = server_factory([tool, {"text": "done"}])
        done = subprocess.run(
            [agentctl_binary(), "--store", url, "run", "--json", "--", *harness.command(agent, "do the task")],
            cwd=clone.root,
            env=harness.env(server),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        summaries.append(json.loads(done.stdout))
        assert not (clone.root / ".agentctl" / "agentctl.db").exists()  # recorded in PostgreSQL, not locally
    ids = sorted(s["run_id"] for s in summaries)
    for clone in clones:
        env = {**harness.env(server), "AGENTCTL_STORE": url}
        listed = subprocess.run(
            [agentctl_binary(), "runs", "list", "--json"], cwd=clone.root, env=env, capture_output=True, text=True
        )
        assert sorted(r["run_id"] for r in json.loads(listed.stdout)) == ids, listed.stderr
        trust = subprocess.run(
            [agentctl_binary(), "trust", "--format", "json"], cwd=clone.root, env=env, capture_output=True, text=True
        )
        report = json.loads(trust.stdout)
        assert (report["records"]["verified"], report["records"]["failed"]) == (2, []), trust.stderr
        assert report["history"]["verified"] is True
