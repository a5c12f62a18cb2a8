"""The composite GitHub Action, run the way a runner runs it.

``action.yml`` is parsed, its ``${{ … }}`` expressions are evaluated with the
inputs and the ``github``/``steps`` contexts, and each ``run:`` step runs with
``bash --noprofile --norc -eo pipefail`` in a real repository, with the
environment a runner provides for a ``pull_request`` event. A ``uses:`` step
(actions/setup-python) cannot run here: its ``if:`` is evaluated, and when it
would run, its output is what it gives on a runner (the path of a Python >= 3.11).
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
from tests.support.offline_install import BASE_PYTHON, PythonState, clean_environ, offline_pip_env

ACTION = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
SARIF_SCHEMA = json.loads((REPO_ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json").read_text())
# The interpreter this venv was made from: what actions/setup-python would provide.
REAL_PYTHON = str(BASE_PYTHON)
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def expression(text: str, contexts: dict[str, object]) -> str:
    """The subset of GitHub's expression language action.yml uses: lookups, ``||``, ``==``, ``!=``, 'strings'."""
    text = text.strip()
    for operator in ("||", "==", "!="):
        if operator in text:
            left, right = (expression(side, contexts) for side in text.split(operator, 1))
            return {"||": left or right, "==": str(left == right).lower(), "!=": str(left != right).lower()}[operator]
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    node: object = contexts
    for part in text.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""  # like GitHub: a missing property is ''
    return str(node)


def evaluate(text: str, contexts: dict[str, object]) -> str:
    return EXPRESSION.sub(lambda match: expression(match.group(1), contexts), text)


def parse_outputs(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def run_action(
    repo: GitRepo,
    tmp_path: Path,
    event: dict,
    inputs: dict[str, str] | None = None,
    *,
    event_name: str = "pull_request",
    env: dict[str, str] | None = None,
) -> dict:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    summary = tmp_path / "summary.md"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update(inputs or {})
    contexts: dict[str, object] = {"inputs": values, "github": {"action_path": str(REPO_ROOT)}, "steps": {}}
    base_env = {
        **clean_environ(),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_WORKSPACE": str(repo.root),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_BASE_REF": event["pull_request"]["base"]["ref"],
        "RUNNER_TEMP": str(runner_temp),
        "NO_COLOR": "1",
        **(env or {}),
    }
    logs = []
    ran: list[str] = []
    code = 0
    for index, step in enumerate(ACTION["runs"]["steps"]):
        if "if" in step and expression(step["if"], contexts) != "true":
            continue
        ran.append(step.get("id", step["name"]))
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@"), step["uses"]
            assert step["with"]["update-environment"] is False  # the job's own Python is left alone
            contexts["steps"][step["id"]] = {"outputs": {"python-path": REAL_PYTHON}}  # type: ignore[index]
            continue
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
        "ran": ran,
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
    repo.write(
        "envs/dev/gpu.tf",
        'resource "aws_instance" "gpu" {\n  instance_type = "p4d.24xlarge"\n'
        '  metadata_options {\n    http_tokens = "required"\n  }\n'
        "  root_block_device {\n    encrypted = true\n  }\n}\n",
    )
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
    assert "fetch-depth" not in checkout.get("with", {})  # the action copes with the default depth 1
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "steps.agentctl.outputs.sarif-file" in upload["with"]["sarif_file"]
    assert "github.event.pull_request.head.repo.fork != true" in upload["if"]  # a fork's token cannot upload
    action = next(s for s in steps if s.get("id") == "agentctl")
    assert action["uses"] == "agentctl/agentctl@v0"
    assert set(ACTION["outputs"]) >= {"findings", "blocking", "approval-required", "sarif-file", "exit-code"}


def shallow_clone(origin: GitRepo, tmp_path: Path, ref: str) -> GitRepo:
    """What actions/checkout does by default: one commit of REF, nothing else (fetch-depth: 1)."""
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(origin.root), str(bare)], check=True)
    workspace = tmp_path / "workspace"
    subprocess.run(["git", "clone", "-q", "--depth=1", "--branch", ref, f"file://{bare}", str(workspace)], check=True)
    clone = GitRepo.__new__(GitRepo)
    clone.root = workspace
    assert clone.git("rev-parse", "--is-shallow-repository") == "true"
    return clone


@pytest.mark.parametrize("base_from", ["event", "input", "base-ref"])
def test_depth_one_checkout_fetches_the_base_and_merge_base_itself(pr_repo, tmp_path: Path, base_from: str) -> None:
    repo, _, head = pr_repo
    repo.git("checkout", "-q", "main")
    repo.write("envs/dev/later.tf", 'resource "aws_s3_bucket" "later" {\n  bucket = "later"\n}\n')
    base = repo.commit("main moves on after the branch was cut")
    clone = shallow_clone(repo, tmp_path, "agent/bastion")
    assert subprocess.run(["git", "cat-file", "-e", f"{base}^{{commit}}"], cwd=clone.root).returncode != 0

    event = pull_request_event(base, head)
    inputs = {}
    if base_from == "input":
        inputs["base"] = "main"  # a branch name, not a SHA
    if base_from == "base-ref":
        del event["pull_request"]["base"]["sha"]  # only GITHUB_BASE_REF=main is left: origin/main
    result = run_action(clone, tmp_path, event, inputs)

    assert result["code"] == 1, result["log"]
    assert "fetching the base commit" in result["log"]
    assert result["outputs"]["blocking"] == "1"
    assert result["outputs"]["approval-required"] == "1"
    assert "later" not in result["log"]  # main's own later change is not blamed on the pull request
    assert "no common ancestor" not in result["log"]


def test_unreachable_base_fails_with_an_honest_message(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("main.tf", 'resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n}\n')
    head = repo.commit("main")
    clone = shallow_clone(repo, tmp_path, "main")
    result = run_action(clone, tmp_path, pull_request_event("0" * 40, head))
    assert result["code"] == 2
    assert result["outputs"]["exit-code"] == "2"
    assert "::error title=agentctl::cannot find the merge base" in result["log"]
    assert "fetch-depth: 0" in result["log"]
    assert "skip this" not in result["log"]


def test_pull_request_target_with_the_base_checked_out_fails_clearly(pr_repo, tmp_path: Path) -> None:
    repo, base, head = pr_repo
    repo.git("checkout", "-q", "main")  # what actions/checkout gives on pull_request_target
    result = run_action(repo, tmp_path, pull_request_event(base, head), event_name="pull_request_target")
    assert result["code"] == 2
    assert result["outputs"]["exit-code"] == "2"
    assert "pull_request_target checked out the base branch" in result["log"]
    assert "github.event.pull_request.head.sha" in result["log"]
    assert "passed" not in result["summary"]


def test_pull_request_target_with_the_head_checked_out_checks_the_change(pr_repo, tmp_path: Path) -> None:
    repo, base, head = pr_repo
    result = run_action(repo, tmp_path, pull_request_event(base, head), event_name="pull_request_target")
    assert result["code"] == 1, result["log"]
    assert result["outputs"]["blocking"] == "1"


def test_fork_pull_request_gets_a_notice_about_sarif(pr_repo, tmp_path: Path) -> None:
    repo, base, head = pr_repo
    event = pull_request_event(base, head)
    event["pull_request"]["head"]["repo"] = {"full_name": "someone/infra", "fork": True}
    result = run_action(repo, tmp_path, event)
    assert result["outputs"]["sarif-file"] == "agentctl.sarif"
    assert "::notice title=agentctl::pull request from a fork" in result["log"]

    (tmp_path / "own").mkdir()
    own = run_action(repo, tmp_path / "own", pull_request_event(base, head))
    assert "from a fork" not in own["log"]


def test_old_runner_python_gets_a_suitable_one_and_installs_from_the_action_source(
    pr_repo, tmp_path: Path, wheelhouse: Path
) -> None:
    """python3 on PATH is too old: setup-python is used, and agentctl is installed from the action's own path
    into a venv of its own, offline, leaving the test venv and the machine's Python as they were."""
    repo, base, head = pr_repo
    old = tmp_path / "old-runner-bin"
    old.mkdir()
    (old / "python3").write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.8.10" && exit 0\nexit 1\n')
    (old / "python3").chmod(0o755)
    (tmp_path / "home").mkdir()
    env = {
        # the runner's PATH: an old python3, no agentctl
        "PATH": f"{old}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        # install offline: agentctl's dependencies and build backend come from the wheelhouse, and the
        # step never sees the test venv (no PYTHONPATH)
        **offline_pip_env(wheelhouse),
    }
    (tmp_path / "runner").mkdir()
    before = PythonState.capture()
    result = run_action(repo, tmp_path / "runner", pull_request_event(base, head), env=env)
    before.assert_unchanged_by(f"the action's install step (log: {result['log'][-2000:]})")

    assert "setup-python" in result["ran"], result["ran"]
    assert "python3 on this runner is Python 3.8.10" in result["log"]
    installed = re.search(r"installed agentctl (\S+) from (\S+)", result["log"])
    assert installed, result["log"]
    assert installed.group(2) == str(REPO_ROOT)
    venv = tmp_path / "runner" / "runner-temp" / "agentctl-venv"
    own = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", "import agentctl, typer; print(agentctl.__file__, typer.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert own.stdout.count(str(venv)) == 2, own.stdout  # agentctl and its dependencies: the venv's own copies
    assert result["code"] == 1, result["log"]
    assert result["outputs"]["blocking"] == "1"
