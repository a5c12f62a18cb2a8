"""False positives are bugs too (issue #11): every everyday command in ``everyday.yaml`` goes through.

The corpus is what Claude Code and Codex run while working on a Terraform / Kubernetes /
Python / Node repository; it is replayed through the gate, as both agents' payloads, in the
realistic repository ``everyday_repo.py`` builds. Each refusal the gate keeps is listed in the
corpus with its rule and reason. The second half holds the attacks the audit's fixes must not
open: a merge, cherry-pick or stash that brings in a protected file, a program in ``node_modules/.bin``
shadowing a system name. Nothing is executed: the gate only judges the text.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentctl.gate import listing
from agentctl.gate.decide import Decision, Gatekeeper, load_book
from tests.gate import everyday_repo

CORPUS: list[Any] = yaml.safe_load((Path(__file__).parent / "everyday.yaml").read_text())


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return everyday_repo.build(tmp_path_factory.mktemp("everyday") / "app")


@pytest.fixture(scope="module")
def keeper(repo: Path) -> Gatekeeper:
    return Gatekeeper(repo, load_book(repo, []))


def decide(keeper: Gatekeeper, repo: Path, command: str, agent: str = "claude") -> Decision:
    if agent == "claude":
        payload = {"tool_name": "Bash", "tool_input": {"command": command}, "cwd": str(repo)}
    else:
        payload = {"tool_name": "exec_command", "tool_input": {"cmd": command}, "cwd": str(repo)}
    return keeper.decide(payload, agent)


def rules(decision: Decision) -> list[str]:
    return sorted({f.rule_id for f in decision.findings})


def test_the_corpus_is_large_and_its_refusals_are_justified() -> None:
    assert len(CORPUS) >= 300
    known = [e for e in CORPUS if isinstance(e, dict) and "refused" in e]
    assert all(e["refused"] and e.get("why") for e in known)
    assert len(known) < len(CORPUS) // 20  # a handful, each with its reason


def test_every_everyday_command_goes_through(keeper: Gatekeeper, repo: Path) -> None:
    wrong: list[str] = []
    for entry in CORPUS:
        command, refused = (entry, None) if isinstance(entry, str) else (entry["sh"], entry.get("refused"))
        for agent in ("claude", "codex"):
            decision = decide(keeper, repo, command, agent)
            if refused is None and decision.decision != "allow":
                wrong.append(f"{agent}: {command!r} refused: {decision.reason}")
            elif refused is not None and (decision.decision != "deny" or refused not in rules(decision)):
                wrong.append(f"{agent}: {command!r} expected {refused}, got {decision.decision} {rules(decision)}")
    assert not wrong, "\n".join(wrong)


# --- git commands that bring in another revision: judged by the files they change ------------------


@pytest.fixture
def branches(tmp_path: Path) -> Path:
    """The everyday repository plus a branch ``evil`` whose commit changes the CI configuration, and a stash
    holding a change to it."""
    root = everyday_repo.build(tmp_path / "app")
    git = ["git", "-C", str(root), "-c", "user.email=a@example.com", "-c", "user.name=A", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "checkout", "-q", "-b", "evil"], check=True)
    (root / ".github/workflows/ci.yml").write_text("on: push\njobs: {x: {runs-on: self-hosted, steps: []}}\n")
    subprocess.run([*git, "commit", "-q", "-am", "ci"], check=True)
    subprocess.run([*git, "checkout", "-q", "main"], check=True)
    (root / ".github/workflows/ci.yml").write_text("on: pull_request_target\n")
    subprocess.run([*git, "stash", "-q"], check=True)
    return root


@pytest.mark.parametrize(
    "command",
    [
        "git merge evil",
        "git merge --no-ff feature/x evil",
        "git cherry-pick evil",
        "git stash pop",
        "git stash apply stash@{0}",
        "cd src && git merge evil",
        "git -C src merge evil",
    ],
)
def test_a_revision_that_changes_a_protected_file_is_refused(branches: Path, command: str) -> None:
    keeper = Gatekeeper(branches, load_book(branches, []))
    decision = decide(keeper, branches, command)
    assert decision.decision == "deny" and "tool-write-protected-path" in rules(decision), decision.reason
    assert ".github/workflows/ci.yml" in decision.reason


@pytest.mark.parametrize(
    "command",
    [
        "git fetch && git merge feature/x",  # the fetch may move the ref after the gate looked
        "git branch -f feature/x evil && git merge feature/x",
        "git update-ref refs/heads/feature/x evil; git merge feature/x",
        "git merge $BRANCH",
        "git merge -s ours feature/x",  # an option not worked out: the whole tree
        "GIT_DIR=.git git merge feature/x",
        "git merge no-such-branch",
        "git pull origin main",
    ],
)
def test_a_merge_whose_files_cannot_be_listed_is_still_judged_as_the_whole_tree(branches: Path, command: str) -> None:
    keeper = Gatekeeper(branches, load_book(branches, []))
    decision = decide(keeper, branches, command)
    assert decision.decision == "deny" and "tool-write-protected-path" in rules(decision), decision.reason


def test_an_everyday_merge_still_goes_through_beside_the_evil_branch(branches: Path) -> None:
    keeper = Gatekeeper(branches, load_book(branches, []))
    for command in ("git merge feature/x", "git status && git merge --no-edit feature/x"):
        decision = decide(keeper, branches, command)
        assert decision.decision == "allow", decision.reason


# --- node_modules/.bin and PATH prepends: a name is judged as the file it finds there -------------------


@pytest.fixture
def shadowed(tmp_path: Path) -> Path:
    """node_modules/.bin/kubectl is a shell script the agent wrote: it runs terraform apply."""
    root = everyday_repo.build(tmp_path / "app")
    fake = root / "node_modules/.bin/kubectl"
    fake.write_text("#!/bin/sh\nterraform apply -auto-approve\n")
    fake.chmod(0o755)
    native = root / "node_modules/.bin/terraform"
    native.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64)  # a binary agentctl cannot read
    native.chmod(0o755)
    package = json.loads((root / "package.json").read_text())
    package["scripts"].update({"pods": "kubectl get pods", "tf": "terraform version"})
    (root / "package.json").write_text(json.dumps(package))
    return root


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("npm run pods", "tool-terraform-apply-destroy"),
        ("yarn pods", "tool-terraform-apply-destroy"),
        ("npx kubectl get pods", "tool-terraform-apply-destroy"),
        ("PATH=./node_modules/.bin:$PATH kubectl get pods", "tool-terraform-apply-destroy"),
        ("PATH=./node_modules/.bin:$PATH env kubectl get pods", "tool-terraform-apply-destroy"),
        ("PATH=./node_modules/.bin:$PATH bash -c 'kubectl get pods'", "tool-terraform-apply-destroy"),
        ("PATH=node_modules/.bin:$PATH make test", None),  # make's recipes are not in node_modules/.bin
        ("npm run tf", "tool-opaque-command"),
        ("PATH=./node_modules/.bin:$PATH terraform version", "tool-opaque-command"),
        ("export PATH=./node_modules/.bin:$PATH; jest", "tool-opaque-command"),  # every later command: unchanged
        ("PATH=/tmp/bin:$PATH jest", "tool-opaque-command"),
        ("PATH=.:$PATH jest", "tool-opaque-command"),
        ("cp /tmp/k node_modules/.bin/jest && PATH=./node_modules/.bin:$PATH jest", "tool-opaque-command"),
    ],
)
def test_a_program_in_node_modules_bin_is_judged_as_that_file(shadowed: Path, command: str, rule: str | None) -> None:
    keeper = Gatekeeper(shadowed, load_book(shadowed, []))
    decision = decide(keeper, shadowed, command)
    if rule is None:
        assert decision.decision == "allow", decision.reason
    else:
        assert decision.decision == "deny" and rule in rules(decision), decision.reason


# --- pytest's conftest.py walk: directory listings are reused between decisions, never stale -------------


def test_a_conftest_added_after_a_decision_is_still_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "_SETTLED_NS", 0)  # the ctime cannot be set back: keep what was just listed
    root = everyday_repo.build(tmp_path / "app")
    for i in range(30):
        (root / f"tests/pkg{i}").mkdir()
        (root / f"tests/pkg{i}/test_x.py").write_text("def test_x():\n    assert True\n")
    past = 1_600_000_000
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(folder, (past, past))  # an old mtime: adding a file moves it
    keeper = Gatekeeper(root, load_book(root, []))
    assert decide(keeper, root, "pytest -q").decision == "allow"
    assert str(root / "tests/pkg7") in listing._kept
    (root / "tests/pkg7/conftest.py").write_text(
        'import subprocess\nsubprocess.run(["terraform", "apply", "-auto-approve"], check=True)\n'
    )
    decision = decide(keeper, root, "pytest -q")
    assert decision.decision == "deny" and "tool-terraform-apply-destroy" in rules(decision), decision.reason


def test_a_listing_read_in_the_same_moment_the_directory_changed_is_not_kept(tmp_path: Path) -> None:
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh/conftest.py").write_text("")
    assert listing.entries(str(tmp_path / "fresh")) == (1, (), frozenset({"conftest.py"}))
    assert str(tmp_path / "fresh") not in listing._kept  # its mtime is now: a change in the same tick would hide
