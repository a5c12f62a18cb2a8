"""The composite GitHub Action, run the way a runner runs it.

``action.yml`` is parsed, its ``${{ … }}`` expressions are evaluated with the
inputs and the ``github``/``steps`` contexts, and each ``run:`` step runs with
``bash --noprofile --norc -eo pipefail`` in a real repository, with the
environment a runner provides for a ``pull_request`` event.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import REPO_ROOT, GitRepo

ACTION = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
SARIF_SCHEMA = json.loads((REPO_ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def evaluate(text: str, contexts: dict[str, object]) -> str:
    def lookup(match: re.Match[str]) -> str:
        node: object = contexts
        for part in match.group(1).split("."):
            assert isinstance(node, dict), match.group(0)
            node = node.get(part, "")
        return str(node)

    return EXPRESSION.sub(lookup, text)


def parse_outputs(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def run_action(repo: GitRepo, tmp_path: Path, event: dict, inputs: dict[str, str] | None = None) -> dict:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    summary = tmp_path / "summary.md"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update(inputs or {})
    contexts: dict[str, object] = {"inputs": values, "github": {"action_path": str(REPO_ROOT)}, "steps": {}}
    base_env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_WORKSPACE": str(repo.root),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_BASE_REF": event["pull_request"]["base"]["ref"],
        "RUNNER_TEMP": str(runner_temp),
        "NO_COLOR": "1",
    }
    logs = []
    code = 0
    for index, step in enumerate(ACTION["runs"]["steps"]):
        assert step["shell"] == "bash"
        output_file = tmp_path / f"output-{index}"
        output_file.touch()
        env = {**base_env, "GITHUB_OUTPUT": str(output_file)}
        env.update({k: evaluate(str(v), contexts) for k, v in step.get("env", {}).items()})
        script = tmp_path / f"step-{index}.sh"
        script.write_text(evaluate(step["run"], contexts))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=repo.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        logs.append(proc.stdout + proc.stderr)
        if "id" in step:
            contexts["steps"][step["id"]] = {"outputs": parse_outputs(output_file)}  # type: ignore[index]
        code = proc.returncode
        if code != 0:
            break
    outputs = {name: evaluate(spec["value"], contexts) for name, spec in ACTION["outputs"].items()}
    return {
        "code": code,
        "log": "\n".join(logs),
        "outputs": outputs,
        "summary": summary.read_text() if summary.exists() else "",
    }


def pull_request_event(base_sha: str, head_sha: str) -> dict:
    return {
        "action": "synchronize",
        "number": 42,
        "pull_request": {
            "number": 42,
            "title": "agent: open bastion",
            "base": {"ref": "main", "sha": base_sha},
            "head": {"ref": "agent/bastion", "sha": head_sha},
        },
        "repository": {"full_name": "acme/infra", "default_branch": "main"},
    }


OPEN_SG = """\
resource "aws_security_group" "bastion" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""


@pytest.fixture
def pr_repo(repo: GitRepo) -> tuple[GitRepo, str, str]:
    repo.write("envs/dev/main.tf", 'resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n}\n')
    repo.write("envs/dev/old.tf", OPEN_SG.replace("bastion", "legacy"))  # already on main: not this PR's fault
    base = repo.commit("main")
    repo.git("checkout", "-q", "-b", "agent/bastion")
    repo.write("envs/dev/bastion.tf", OPEN_SG)
    repo.write("envs/dev/gpu.tf", 'resource "aws_instance" "gpu" {\n  instance_type = "p4d.24xlarge"\n}\n')
    head = repo.commit("agent: bastion and a GPU box")
    return repo, base, head


def test_pull_request_with_a_blocking_finding(pr_repo, tmp_path: Path) -> None:
    repo, base, head = pr_repo
    result = run_action(repo, tmp_path, pull_request_event(base, head))

    assert "using the installed agentctl" in result["log"]
    assert result["code"] == 1
    outputs = result["outputs"]
    assert outputs["exit-code"] == "1"
    assert outputs["blocking"] == "1"
    assert outputs["approval-required"] == "1"
    assert outputs["findings"] == "2"
    assert outputs["sarif-file"] == "agentctl.sarif"

    annotation = next(line for line in result["log"].splitlines() if line.startswith("::error "))
    assert "file=envs/dev/bastion.tf,line=1" in annotation
    assert "aws-security-group-admin-port-open" in annotation
    assert "legacy" not in result["log"]  # only the PR's changes are judged

    sarif = json.loads((repo.root / "agentctl.sarif").read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert result["summary"].startswith("## agentctl check: ❌ blocked")
    assert "`merge-base(" in result["summary"] or base[:7] in result["summary"]


def test_clean_pull_request_passes(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("main.tf", 'resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n}\n')
    base = repo.commit("main")
    repo.write("main.tf", 'resource "aws_s3_bucket" "logs" {\n  bucket = "logs-v2"\n}\n')
    head = repo.commit("rename")
    result = run_action(repo, tmp_path, pull_request_event(base, head))
    assert result["code"] == 0, result["log"]
    assert result["outputs"]["findings"] == "0"
    assert result["outputs"]["exit-code"] == "0"
    assert "✅ passed" in result["summary"]


def test_fail_on_and_no_comment_inputs(pr_repo, tmp_path: Path) -> None:
    repo, base, head = pr_repo
    result = run_action(
        repo,
        tmp_path,
        pull_request_event(base, head),
        {"comment": "false", "sarif-file": "", "path": "envs/dev/gpu.tf"},
    )
    assert result["code"] == 3  # only the GPU instance in scope: approval required, nothing blocks
    assert result["outputs"]["approval-required"] == "1"
    assert result["outputs"]["sarif-file"] == ""
    assert result["summary"] == ""
    assert not (repo.root / "agentctl.sarif").exists()


def test_example_workflow_uses_the_action_outputs() -> None:
    workflow = yaml.safe_load((REPO_ROOT / "examples" / "github-workflow.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "steps.agentctl.outputs.sarif-file" in upload["with"]["sarif_file"]
    assert set(ACTION["outputs"]) >= {"findings", "blocking", "approval-required", "sarif-file", "exit-code"}
