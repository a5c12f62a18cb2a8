"""The gate and the sandbox protect the same paths.

The sandbox mounts the protected set read-only (:mod:`agentctl.sandbox.profile`);
the gate denies shell writes to it before they run
(:func:`agentctl.gate.effects.protected_roots`). A path in one but not the other is
either a write the gate lets through to a read-only mount (a confusing failure) or
one the sandbox lets through after the gate was fooled.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agentctl import protect
from agentctl.gate.decide import Gatekeeper, load_book
from agentctl.sandbox.profile import HOME_RUN_LATER, build


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    module = root / ".git" / "modules" / "lib"
    (module / "hooks").mkdir(parents=True)
    (module / "HEAD").write_text("ref: refs/heads/main\n")
    (module / "config").write_text("[core]\n")
    return root


def _denied(keeper: Gatekeeper, root: Path, target: Path) -> bool:
    command = f"echo x >> {target}"
    decision = keeper.decide({"tool_name": "Bash", "tool_input": {"command": command}, "cwd": str(root)}, "claude")
    return decision.decision == "deny" and any(f.rule_id == "tool-write-protected-path" for f in decision.findings)


def test_every_repository_and_home_path_the_sandbox_makes_read_only_is_denied_by_the_gate(repo: Path) -> None:
    home = Path(os.environ["HOME"])
    profile = build(repo, repo, [repo / "policies"], {"HOME": str(home)})
    installation = {p.resolve() for p in protect.installation_paths()}
    keeper = Gatekeeper(repo, load_book(repo, []))
    checked = [
        p
        for p in profile.read_only
        if (p.is_relative_to(repo) or p.is_relative_to(home)) and p.resolve() not in installation
    ]
    assert repo / "AGENTS.md" in checked and repo / "CLAUDE.md" in checked and home / ".npmrc" in checked
    assert repo / ".git" / "modules" / "lib" / "hooks" in checked
    missed = [str(p) for p in checked if not _denied(keeper, repo, p)]
    assert not missed, missed


@pytest.mark.parametrize("name", ["CLAUDE.md", "AGENTS.md", ".cursorrules", ".github/copilot-instructions.md"])
def test_agent_instruction_files_are_in_the_protected_set(name: str, tmp_path: Path) -> None:
    found = protect.protected_set(tmp_path, [], home=tmp_path / "home")
    assert tmp_path / name in found.read_only and tmp_path / name in found.watched


def test_home_package_settings_are_protected_by_both(repo: Path) -> None:
    keeper = Gatekeeper(repo, load_book(repo, []))
    for rel in (".npmrc", ".pip/pip.conf", ".config/pip/pip.conf", ".terraformrc"):
        assert any(rel == r or rel.startswith(r + "/") for r in HOME_RUN_LATER), rel
        assert _denied(keeper, repo, Path(os.environ["HOME"]) / rel), rel
