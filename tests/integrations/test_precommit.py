"""The pre-commit hook, exercised with the real ``pre-commit`` against this repository.

``pre-commit try-repo`` installs this repository's hook into its own virtualenv
(pip-installing agentctl from source), then runs it in a temporary repository
with a staged Terraform file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, GitRepo

pytestmark = pytest.mark.skipif(not (REPO_ROOT / ".git").exists(), reason="try-repo needs this repository's git clone")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(repo: GitRepo, home: Path) -> subprocess.CompletedProcess[str]:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    command = [str(pre_commit) if pre_commit.exists() else shutil.which("pre-commit") or "pre-commit"]
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    env.pop("AGENTCTL_CACHE_DIR", None)
    return subprocess.run(
        [*command, "try-repo", str(REPO_ROOT), "agentctl-check", "--verbose"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_staged_bad_terraform_fails_the_hook(repo: GitRepo, pre_commit_home: Path) -> None:
    repo.write("README.md", "infra\n")
    repo.commit("init")
    repo.write(
        "envs/dev/sg.tf",
        'resource "aws_security_group" "ssh" {\n  ingress {\n    from_port   = 22\n    to_port     = 22\n'
        '    protocol    = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n',
    )
    repo.git("add", "envs/dev/sg.tf")
    proc = try_repo(repo, pre_commit_home)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "agentctl check (staged Terraform and Kubernetes)" in output
    assert "Failed" in output
    assert "aws-security-group-admin-port-open" in output
    assert "envs/dev/sg.tf:1" in output


def test_staged_clean_terraform_passes_the_hook(repo: GitRepo, pre_commit_home: Path) -> None:
    repo.write("README.md", "infra\n")
    repo.commit("init")
    repo.write("envs/dev/logs.tf", 'resource "aws_s3_bucket" "logs" {\n  bucket = "acme-logs"\n}\n')
    repo.git("add", "envs/dev/logs.tf")
    proc = try_repo(repo, pre_commit_home)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Passed" in output


def test_approval_only_change_tells_how_to_commit(repo: GitRepo, pre_commit_home: Path) -> None:
    repo.write("README.md", "infra\n")
    repo.commit("init")
    repo.write("envs/dev/gpu.tf", 'resource "aws_instance" "gpu" {\n  instance_type = "p4d.24xlarge"\n}\n')
    repo.git("add", "envs/dev/gpu.tf")
    proc = try_repo(repo, pre_commit_home)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output  # pre-commit fails the hook on agentctl's exit 3
    assert "exit code: 3" in output
    assert "APPROVAL REQUIRED" in output
    assert "SKIP=agentctl-check git commit" in output  # the next step, not a dead end
