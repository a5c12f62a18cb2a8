"""``agentctl run``'s sandbox flags from the outside: fail closed, say why, and record it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from agentctl.protect import CREDENTIAL_KINDS
from agentctl.store.sqlite import RunRecord, Store
from tests.conftest import GitRepo, agentctl_binary


def agentctl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [agentctl_binary(), *args], cwd=cwd, env=env or dict(os.environ), capture_output=True, text=True, timeout=60
    )


def test_without_bwrap_the_run_exits_2_with_a_hint_and_records_nothing(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("README.md", "# x\n")
    repo.commit("init")
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = agentctl("run", "--", "claude", "-p", "hi", cwd=repo.root, env={**os.environ, "PATH": str(empty)})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("agentctl: error: the sandbox cannot be built: bwrap (bubblewrap) is not installed")
    assert lines[1].startswith("hint: install bubblewrap (apt-get install bubblewrap")
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in lines[1] and "--sandbox off" in lines[1]
    assert "Traceback" not in proc.stderr
    assert not (repo.root / ".agentctl" / "agentctl.db").exists()  # fail closed before any record


def test_bad_sandbox_flags_are_usage_errors(repo: GitRepo) -> None:
    bad = agentctl("run", "--sandbox", "chroot", "--", "claude", "-p", "hi", cwd=repo.root)
    assert bad.returncode == 2 and "hint: use one of: auto, bwrap, off" in bad.stderr
    kind = agentctl("run", "--allow-credentials", "aws,gpg", "--", "claude", "-p", "hi", cwd=repo.root)
    assert kind.returncode == 2 and "unknown credential kind 'gpg'" in kind.stderr


def test_help_documents_the_flags_and_every_credential_kind(repo: GitRepo) -> None:
    text = " ".join(agentctl("run", "--help", cwd=repo.root, env={**os.environ, "COLUMNS": "200"}).stdout.split())
    assert "--sandbox" in text and "--allow-credentials" in text
    for kind in CREDENTIAL_KINDS:
        assert kind in text, kind


def test_unsandboxed_runs_never_count_as_clean_trust_evidence(repo: GitRepo) -> None:
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    store = Store(repo.root / ".agentctl" / "agentctl.db")
    try:
        for run_id, sandbox in (("r-bwrap", "bwrap"), ("r-off", "off"), ("r-old", None)):
            base = repo.git("rev-parse", "HEAD")
            repo.write(f"docs/{run_id}.md", "x\n")
            end = repo.commit(f"run {run_id}")
            store.create_run(
                RunRecord(id=run_id, agent="claude", status="running", started_at=time.time() - 60, base_commit=base)
            )
            store.update_run(
                run_id,
                status="completed",
                ended_at=time.time() - 30,
                verdict="passed",
                changed_paths=[f"docs/{run_id}.md"],
                end_commit=end,
                sandbox=sandbox,
            )
    finally:
        store.close()
    proc = agentctl("trust", "--format", "json", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    [scope] = json.loads(proc.stdout)["scopes"]
    assert (scope["n"], scope["successes"]) == (3, 1)
    reasons = {d["run"]: d["reason"] for d in scope["demotions"]}
    assert reasons == {"r-off": "ran without a sandbox", "r-old": "no sandbox recorded"}
    listing = agentctl("runs", "list", cwd=repo.root).stdout.splitlines()
    assert [line.split()[4] for line in listing[1:]] == ["-", "off", "bwrap"]
    shown = agentctl("runs", "show", "r-off", cwd=repo.root).stdout
    assert "sandbox: off — UNSANDBOXED" in shown
