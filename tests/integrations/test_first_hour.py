"""What a newcomer meets in the first hour, through the installed ``agentctl`` binary.

Each test is one rough edge from issue 14, as the user saw it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import termios
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import GitRepo, agentctl_binary

OPEN_SSH = """\
resource "aws_security_group" "bastion" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""
BUCKETS = "".join(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n' for i in range(3))


def policy(rule: str) -> str:
    return f"apiVersion: agentctl/v1\nkind: PolicySet\nmetadata:\n  name: team\nrules:\n{rule}"


DENY_BUCKETS = policy(
    "  - id: team-no-buckets\n    title: No buckets\n    severity: high\n    action: deny\n"
    "    target: terraform\n    match:\n      types: [aws_s3_bucket]\n    condition: 'true'\n"
    '    message: "{address} is a bucket"\n'
)


def test_junit_counts_every_failure_and_names_have_single_spaces(repo: GitRepo, agentctl, tmp_path: Path) -> None:
    repo.write("sg.tf", OPEN_SSH)
    (tmp_path / "elsewhere.tf").write_text(BUCKETS)
    (repo.root / "link.tf").symlink_to(tmp_path / "elsewhere.tf")  # a finding without a resource address
    result = agentctl("check", "--format", "junit", ".", cwd=repo.root)
    assert result.code == 1, result.stderr
    suite = ET.fromstring(result.stdout).find("testsuite")
    assert suite is not None
    failures = suite.findall("testcase/failure")
    assert len(failures) >= 3  # the gate, the open port, the symlink
    assert int(suite.get("failures", "0")) == len(failures)
    for case in suite.findall("testcase"):
        name = case.get("name", "")
        assert "  " not in name and name == name.strip(), name


def test_missing_policy_directory_is_a_usage_error_with_a_useful_hint(repo: GitRepo, agentctl) -> None:
    repo.write("main.tf", BUCKETS)
    result = agentctl("check", "--policies", "nodir", ".", cwd=repo.root)
    assert result.code == 2
    assert "policy directory nodir does not exist" in result.stderr
    assert "nodir:1" not in result.stderr
    assert "fix the policy file" not in result.stderr
    assert "hint: pass --policies a directory" in result.stderr


def test_misspelt_key_is_reported_as_unknown(repo: GitRepo, agentctl) -> None:
    repo.write("main.tf", BUCKETS)
    repo.write("policies/team.yaml", DENY_BUCKETS.replace("    message:", "    mesage:"))
    result = agentctl("check", ".", cwd=repo.root)
    assert result.code == 2
    assert "unknown field 'mesage' (did you mean 'message'?)" in result.stderr
    assert "missing required field" not in result.stderr
    assert "policies/team.yaml:" in result.stderr


def test_rule_failing_at_runtime_is_one_finding(repo: GitRepo, agentctl) -> None:
    repo.write("main.tf", BUCKETS)
    repo.write(
        "policies/team.yaml",
        policy(
            "  - id: team-broken\n    title: Broken\n    severity: high\n    action: deny\n    target: terraform\n"
            "    condition: resource.no_such_attribute.deeper == 1\n    message: never\n"
        ),
    )
    result = agentctl("check", "--format", "json", ".", cwd=repo.root)
    errors = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "rule-error"]
    assert len(errors) == 1, errors
    assert "team-broken" in errors[0]["message"]
    assert "(and 2 more resources)" in errors[0]["message"]


def run_in_terminal(args: list[str], cwd: Path, columns: int) -> str:
    """The binary on a real pseudo-terminal of the given width (colours and all)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [agentctl_binary(), *args], cwd=cwd, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(master)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r", "")


@pytest.mark.parametrize("columns", [100, 200])
def test_terminal_table_never_breaks_a_path(repo: GitRepo, columns: int) -> None:
    path = "modules/networking/very-long-directory-name-for-the-vpc/security_groups_bastion.tf"
    repo.write(path, OPEN_SSH)
    repo.write("k8s/app.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: LoadBalancer\n")
    screen = run_in_terminal(["check", "."], repo.root, columns)
    assert "aws-security-group-admin-port-open" in screen
    assert f"{path}:1" in screen, screen  # whole, on one line
    assert "k8s/app.yaml:1" in screen
    assert all(len(line) <= columns for line in screen.splitlines() if "agentctl check" not in line), screen


def test_score_reads_as_a_level_out_of_five(repo: GitRepo, agentctl) -> None:
    fresh = agentctl("score", cwd=repo.root)  # no commits at all
    assert fresh.code == 0, fresh.stderr
    assert "Level 0" not in fresh.stdout
    assert "not yet at level 1 of 5" in fresh.stdout

    repo.write("AGENTS.md", "# notes for agents\n")
    repo.commit("init")
    result = agentctl("score", cwd=repo.root)
    assert result.code == 0, result.stderr
    assert re.match(r"Level [1-5] of 5: ", result.stdout)
    assert "None" not in result.stdout
    assert "{" not in result.stdout and '"' not in result.stdout  # no raw JSON evidence
    assert "change failure rate n/a" in result.stdout


def test_help_shows_placeholders_a_user_types() -> None:
    binary = agentctl_binary()
    commands = [["check"], ["rules"], ["init"], ["run"], ["runs", "list"], ["score"], ["trust"], ["export"]]
    commands.append(["approve"])
    for command in commands:
        proc = subprocess.run(
            [binary, *command, "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}
        )
        assert proc.returncode == 0, (command, proc.stderr)
        assert "<bool>" not in proc.stdout and "<list[" not in proc.stdout and "<str>" not in proc.stdout, proc.stdout
    check = subprocess.run([binary, "check", "--help"], capture_output=True, text=True).stdout
    assert re.search(r"--policies\s+DIR", check)


def test_policies_are_found_from_a_subdirectory(repo: GitRepo, agentctl) -> None:
    repo.write("policies/team.yaml", DENY_BUCKETS)
    repo.write("envs/dev/main.tf", BUCKETS)
    result = agentctl("check", "--format", "json", ".", cwd=repo.root / "envs" / "dev")
    assert result.code == 1, result.stderr
    assert {f["rule_id"] for f in json.loads(result.stdout)["findings"]} >= {"team-no-buckets"}


def test_policies_above_the_repository_are_not_used(tmp_path: Path, agentctl) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "team.yaml").write_text(DENY_BUCKETS)
    project = tmp_path / "project"
    project.mkdir()
    inner = GitRepo(project)
    inner.write("main.tf", BUCKETS)
    result = agentctl("check", "--format", "json", ".", cwd=inner.root)
    assert result.code == 0, result.stdout
    assert "team-no-buckets" not in result.stdout


def test_outside_directory_files_are_checked_not_called_symlinks(repo: GitRepo, agentctl, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sg.tf").write_text(OPEN_SSH)
    (outside / "buckets.tf").write_text(BUCKETS)
    (outside / "sneaky.tf").symlink_to("/etc/hostname")
    repo.write("main.tf", BUCKETS)
    (repo.root / "escape.tf").symlink_to(outside / "buckets.tf")
    result = agentctl("check", "--format", "json", ".", str(outside), cwd=repo.root)
    findings = json.loads(result.stdout)["findings"]
    symlinks = sorted(f["path"] for f in findings if f["rule_id"] == "symlink-outside-repo")
    assert symlinks == sorted(["escape.tf", str(outside / "sneaky.tf")])  # real symlinks only
    assert any(f["rule_id"] == "aws-security-group-admin-port-open" and f["path"].endswith("sg.tf") for f in findings)


def test_runs_list_outside_git_creates_nothing(tmp_path: Path, agentctl) -> None:
    result = agentctl("runs", "list", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "no runs recorded" in result.stderr
    assert list(tmp_path.iterdir()) == []
    as_json = agentctl("runs", "list", "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout) == []
    assert list(tmp_path.iterdir()) == []


def test_init_adds_no_findings_to_an_existing_repository(repo: GitRepo, agentctl, corpus: Path) -> None:
    shutil.copytree(corpus, repo.root / "corpus")
    before = agentctl("check", "--format", "json", "corpus", cwd=repo.root)
    assert agentctl("init", cwd=repo.root).code == 0
    assert (repo.root / "policies" / "team.yaml").exists()
    after = agentctl("check", "--format", "json", "corpus", cwd=repo.root)
    assert after.code == before.code
    fingerprints = [sorted(f["fingerprint"] for f in json.loads(r.stdout)["findings"]) for r in (before, after)]
    assert fingerprints[0] == fingerprints[1]
    rules = agentctl("rules", cwd=repo.root)
    assert "team-protected-buckets" in rules.stdout  # live, and ready to edit


def test_starter_policy_examples_are_valid_when_enabled(repo: GitRepo, agentctl) -> None:
    assert agentctl("init", cwd=repo.root).code == 0
    starter = (repo.root / "policies" / "team.yaml").read_text()
    head, commented = starter.split("  # - id: team-deployment-owner-label")
    enabled = head + ("  # - id: team-deployment-owner-label" + commented).replace("  # ", "  ")
    assert "team-deployment-owner-label" in enabled and "  # - id:" not in enabled
    (repo.root / "policies" / "team.yaml").write_text(enabled)
    rules = agentctl("rules", cwd=repo.root)
    assert rules.code == 0, rules.stderr
    assert "team-deployment-owner-label" in rules.stdout

    repo.write("main.tf", 'resource "aws_s3_bucket" "keep" {\n  bucket = "replace-with-your-bucket-name"\n}\n')
    repo.commit("bucket")
    repo.remove("main.tf")
    deleted = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert "team-protected-buckets" in {f["rule_id"] for f in json.loads(deleted.stdout)["findings"]}


def test_approval_required_says_what_to_do_next(repo: GitRepo, agentctl) -> None:
    repo.write("README.md", "infra\n")
    repo.commit("init")
    repo.write("envs/dev/gpu.tf", 'resource "aws_instance" "gpu" {\n  instance_type = "p4d.24xlarge"\n}\n')
    repo.git("add", "envs/dev/gpu.tf")
    staged = agentctl("check", "--staged", cwd=repo.root)
    assert staged.code == 3, staged.stdout + staged.stderr
    assert "hint: " in staged.stderr
    assert "SKIP=agentctl-check git commit" in staged.stderr
    assert "agentctl approve" in staged.stderr
    quiet = agentctl("check", "--staged", "-q", cwd=repo.root)
    assert quiet.stderr == ""
