"""The GitLab CI template, run the way a GitLab runner runs a job's script.

Global and job variables plus the merge-request ``CI_*`` variables form the
environment; ``before_script`` and ``script`` lines run in order in one bash
shell that stops at the first failing line. The reports it declares must exist
and be valid: Code Quality with the fields GitLab documents, JUnit that a JUnit
reader parses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from junitparser import JUnitXml

from tests.conftest import REPO_ROOT, GitRepo

TEMPLATE = yaml.safe_load((REPO_ROOT / "templates" / "gitlab-ci.yml").read_text())
JOB = TEMPLATE["agentctl-check"]
CODE_QUALITY_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def run_job(repo: GitRepo, base_sha: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **{k: str(v) for k, v in TEMPLATE.get("variables", {}).items()},
        **{k: str(v) for k, v in JOB.get("variables", {}).items()},
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": base_sha,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_SHA": repo.git("rev-parse", "HEAD"),
        "CI_PROJECT_DIR": str(repo.root),
        "NO_COLOR": "1",
    }
    lines = [*JOB["before_script"], *JOB["script"]]
    script = "set -eo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=repo.root, env=env, capture_output=True, text=True, timeout=300)


def test_runs_only_on_merge_requests_and_publishes_reports() -> None:
    assert JOB["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    reports = JOB["artifacts"]["reports"]
    assert set(reports) == {"codequality", "junit"}
    assert JOB["artifacts"]["when"] == "always"


def test_merge_request_with_findings_fails_and_reports_them(repo: GitRepo) -> None:
    repo.write("k8s/app.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: ClusterIP\n")
    base = repo.commit("main")
    repo.write("k8s/app.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: LoadBalancer\n")
    repo.write(
        "k8s/debug.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  containers:\n"
        "    - name: sh\n      image: busybox:1.36\n      securityContext:\n        privileged: true\n",
    )
    repo.commit("agent change")

    proc = run_job(repo, base)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "k8s-privileged-container" in proc.stdout  # the table in the job log

    quality = json.loads((repo.root / JOB["artifacts"]["reports"]["codequality"]).read_text())
    assert {issue["check_name"] for issue in quality} >= {
        "agentctl/k8s-privileged-container",
        "agentctl/k8s-loadbalancer-service",
    }
    for issue in quality:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in CODE_QUALITY_SEVERITIES
        assert issue["location"]["path"].startswith("k8s/")
        assert issue["location"]["lines"]["begin"] >= 1

    junit = JUnitXml.fromfile(str(repo.root / JOB["artifacts"]["reports"]["junit"]))
    cases = [case for suite in junit for case in suite]
    failed = [case for case in cases if case.result and not case.is_passed and not case.is_skipped]
    assert any("k8s-privileged-container" in case.name for case in failed)
    assert any("k8s-loadbalancer-service" in case.name for case in failed)


def test_clean_merge_request_passes(repo: GitRepo) -> None:
    repo.write("main.tf", 'resource "aws_s3_bucket" "b" {\n  bucket = "a"\n}\n')
    base = repo.commit("main")
    repo.write("main.tf", 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    repo.commit("rename")
    proc = run_job(repo, base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((repo.root / "gl-code-quality-report.json").read_text()) == []
    JUnitXml.fromfile(str(repo.root / "agentctl-junit.xml"))
