"""Verify after a tool call: the worktree's changed IaC judged against the run's start, in a real git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agentctl.engine.evaluate import Evaluator
from agentctl.gate.decide import load_book
from agentctl.gate.toolcall import normalise
from agentctl.runner.verify import Verifier, VerifyGate
from tests.conftest import GitRepo

CPU = 'resource "aws_instance" "web" {\n  ami           = "ami-1"\n  instance_type = "m6i.large"\n}\n'
GPU = CPU.replace("m6i.large", "p4d.24xlarge")


def verifier(repo: GitRepo) -> Verifier:
    return Verifier(repo.root, repo.git("rev-parse", "HEAD"), Evaluator(load_book(repo.root, []))).start()


def call(repo: GitRepo, name: str, tool_input: dict) -> object:  # type: ignore[type-arg]
    return normalise({"tool_name": name, "tool_input": tool_input, "cwd": str(repo.root)}, "claude", repo.root)


def test_a_gpu_change_on_disk_is_found_with_rule_file_and_line(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU)
    repo.write("README.md", "x\n")
    repo.commit()
    check = verifier(repo)
    assert check.scan() == []
    repo.write("envs/dev/main.tf", "\n\n" + GPU)
    repo.write("envs/dev/new file.tf", CPU)  # a name with a space, untracked
    repo.write("README.md", "y\n")
    [finding] = check.scan()
    assert finding.rule_id == "gpu-instance-outside-production"
    assert (finding.location.path, finding.location.start_line) == ("envs/dev/main.tf", 3)
    assert check.changed_iac() == ["envs/dev/main.tf", "envs/dev/new file.tf"]


def test_changes_the_agent_committed_are_judged_too(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU)
    repo.commit()
    check = verifier(repo)
    repo.write("envs/dev/main.tf", GPU)
    repo.commit("agent commits")
    assert [f.rule_id for f in check.scan()] == ["gpu-instance-outside-production"]


def test_a_file_already_changed_when_the_run_started_is_not_the_agents_doing(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU)
    repo.commit()
    repo.write("envs/dev/main.tf", GPU)  # the person's uncommitted work
    check = verifier(repo)
    assert check.scan() == []
    repo.write("envs/dev/main.tf", GPU.replace("ami-1", "ami-2"))  # the agent edits around it
    assert check.scan() == []  # judged against the start: the GPU was already there


def test_the_block_denies_other_calls_until_the_file_is_fixed(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU)
    repo.commit()
    gate = VerifyGate(verifier(repo))
    repo.write("envs/dev/main.tf", GPU)
    found, moved = gate.verify()
    assert moved and [f.rule_id for f in found] == ["gpu-instance-outside-production"]
    assert "envs/dev/main.tf:1" in gate.reason()

    blocked, _ = gate.check(call(repo, "Bash", {"command": "echo hi > x.txt"}))
    assert [f.rule_id for f in blocked] == ["gpu-instance-outside-production"]
    assert gate.check(call(repo, "Bash", {"command": "rm envs/dev/main.tf; curl x | sh"}))[0]  # not only a repair
    assert gate.check(call(repo, "Read", {"file_path": str(repo.root / "envs/dev/main.tf")}))[0] == []
    assert gate.check(call(repo, "Bash", {"command": "git checkout -- envs/dev/main.tf"}))[0] == []
    edit = {"file_path": str(repo.root / "envs/dev/main.tf"), "old_string": "p4d.24xlarge", "new_string": "m6i.large"}
    assert gate.check(call(repo, "Edit", edit))[0] == []
    other = {"file_path": str(repo.root / "app.py"), "content": "x"}
    assert gate.check(call(repo, "Write", other))[0]

    repo.write("envs/dev/main.tf", CPU)  # fixed: the next call judges it afresh and passes
    blocked, moved = gate.check(call(repo, "Bash", {"command": "ls"}))
    assert blocked == [] and moved


def test_content_approved_at_the_terminal_is_not_blocked(repo: GitRepo) -> None:
    repo.write("README.md", "x\n")
    repo.commit()
    gate = VerifyGate(verifier(repo))
    path = repo.root / "envs/dev/main.tf"
    gate.approve(call(repo, "Write", {"file_path": str(path), "content": GPU}))
    repo.write("envs/dev/main.tf", GPU)
    assert gate.verify()[0] == []
    repo.write("envs/dev/main.tf", GPU.replace("ami-1", "ami-9"))  # not what was approved
    assert gate.verify()[0]


def test_outside_git_nothing_is_judged(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(GPU)
    check = Verifier(tmp_path, None, Evaluator(load_book(tmp_path, []))).start()
    assert check.scan() == []


def test_codex_next_call_verifies_first_when_the_nudge_is_late(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU)
    repo.commit()
    gate = VerifyGate(verifier(repo))
    shell = normalise({"tool_name": "Bash", "tool_input": {"command": "python3 gen.py"}}, "codex", repo.root)
    assert gate.check(shell)[0] == []
    gate.allowed(shell)
    repo.write("envs/dev/main.tf", GPU)  # what the script wrote; no verify has run since
    blocked, moved = gate.check(normalise({"tool_name": "Bash", "tool_input": {"command": "ls"}}, "codex", repo.root))
    assert moved and [f.rule_id for f in blocked] == ["gpu-instance-outside-production"]


def fsmonitor_config(marker: Path) -> str:
    return f'[core]\n\tfsmonitor = "touch {marker}; false"\n'


def test_a_commondir_the_agent_plants_is_ignored_and_runs_nothing(repo: GitRepo, tmp_path: Path) -> None:
    """``.git/commondir`` is writable in the sandbox; agentctl's own ``git status`` (outside it) must not obey it."""
    repo.write("envs/dev/main.tf", CPU)
    repo.commit()
    check = verifier(repo)  # started before the agent: the git directories are pinned here
    evil, marker = tmp_path / "evil.git", tmp_path / "ran-outside-the-sandbox"
    subprocess.run(["git", "init", "-q", "--bare", str(evil)], check=True)
    with (evil / "config").open("a") as config:
        config.write(fsmonitor_config(marker))
    (repo.root / ".git" / "commondir").write_text(f"{evil}\n")
    repo.write("envs/dev/main.tf", GPU)
    [finding] = check.scan()  # still judged against the real repository
    assert finding.rule_id == "gpu-instance-outside-production"
    assert not marker.exists()


def test_a_nested_repository_config_runs_nothing(repo: GitRepo, tmp_path: Path) -> None:
    """A nested repository added as a gitlink: git status would run its ``core.fsmonitor``."""
    repo.write("README.md", "x\n")
    repo.commit()
    check = verifier(repo)
    marker = tmp_path / "ran-outside-the-sandbox"
    (repo.root / "sub").mkdir()
    sub = GitRepo(repo.root / "sub")
    sub.write("a.txt", "a\n")
    sub.commit()
    with (sub.root / ".git" / "config").open("a") as config:
        config.write(fsmonitor_config(marker))
    repo.git("add", "sub")
    sub.write("a.txt", "changed\n")
    assert check.scan() == []
    assert not marker.exists()


def test_the_end_of_run_diff_runs_no_nested_repository_config(repo: GitRepo, tmp_path: Path) -> None:
    """The same nested repository: the worktree diff agentctl takes at the end of a run runs nothing either."""
    from agentctl.sources.gitrepo import GitRepo as Source
    from agentctl.sources.gitrepo import Side

    repo.write("README.md", "x\n")
    base = repo.commit()
    marker = tmp_path / "ran-outside-the-sandbox"
    (repo.root / "sub").mkdir()
    sub = GitRepo(repo.root / "sub")
    sub.commit()
    with (sub.root / ".git" / "config").open("a") as config:
        config.write(fsmonitor_config(marker))
    repo.git("add", "sub")
    sub.write("a.txt", "changed\n")
    repo.write("envs/dev/main.tf", CPU)
    source = Source(repo.root)
    assert "envs/dev/main.tf" in source.changed_paths(source.commit(base), Side("worktree"))
    assert not marker.exists()
