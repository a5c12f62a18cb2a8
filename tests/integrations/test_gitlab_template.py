"""The GitLab job, as a CI/CD component and as a plain include, run by the real ``gitlab-ci-local``.

A consumer repository has a merge-request-like history (``main``, then a branch
with the change) and a ``.gitlab-ci.yml`` that includes our job exactly as the
README says: ``component: …/agentctl-check@v0.1.0`` or ``remote: …/v0.1.0/templates/gitlab-ci.yml``.
GitLab would fetch that file at the tag; here gitlab-ci-local finds it in its
include cache, where the test puts this checkout's file. The job runs with the
shell executor in a copy of the repository (``--shell-isolation``, rsync), and
installs agentctl into its own venv from this checkout through the one install
variable, offline: no index, its dependencies and build backend from a wheelhouse
repacked from the test venv (``PIP_FIND_LINKS``). The job never sees the test venv,
and neither the test venv nor the machine's Python may change. Its reports must
exist and be valid: Code Quality with the fields GitLab documents, JUnit that a
JUnit reader parses.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml

from tests.conftest import REPO_ROOT, GitRepo
from tests.support.offline_install import BASE_PYTHON, PythonState, clean_environ, offline_pip_env

GITLAB_CI_LOCAL = REPO_ROOT / "tests" / "integrations" / "gitlab" / "node_modules" / ".bin" / "gitlab-ci-local"
COMPONENT = REPO_ROOT / "templates" / "agentctl-check.yml"
PLAIN = REPO_ROOT / "templates" / "gitlab-ci.yml"
COMPONENT_REF = "gitlab.example.com/agentctl/agentctl/agentctl-check@v0.1.0"
REMOTE_URL = "https://raw.githubusercontent.com/agentctl/agentctl/v0.1.0/templates/gitlab-ci.yml"
CODE_QUALITY_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}

needs_gitlab_ci_local = pytest.mark.skipif(
    not GITLAB_CI_LOCAL.exists() or not shutil.which("rsync"),
    reason="gitlab-ci-local (npm ci --prefix tests/integrations/gitlab) and rsync are needed",
)


def component_spec() -> dict:
    return next(yaml.safe_load_all(COMPONENT.read_text()))["spec"]


def test_component_follows_gitlab_conventions() -> None:
    spec_doc, job_doc = list(yaml.safe_load_all(COMPONENT.read_text()))
    inputs = spec_doc["spec"]["inputs"]
    assert {"version", "install", "paths", "fail-on", "codequality-report", "junit-report"} <= set(inputs)
    assert inputs["fail-on"]["options"] == ["info", "low", "medium", "high", "critical"]
    job = job_doc["agentctl-check"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["reports"]) == {"codequality", "junit"}
    plain = yaml.safe_load(PLAIN.read_text())["agentctl-check"]
    assert plain["before_script"] == job["before_script"]  # one install procedure for both


def merge_request(repo: GitRepo, include: str, bad: bool) -> str:
    """main with a Service, then a branch that makes it a LoadBalancer and adds a privileged Pod (bad) or renames."""
    repo.git("remote", "add", "origin", "git@gitlab.example.com:acme/infra.git")
    repo.write(".gitlab-ci.yml", include)
    repo.write("k8s/app.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: ClusterIP\n")
    base = repo.commit("main")
    repo.git("checkout", "-q", "-b", "agent/change")
    if bad:
        repo.write(
            "k8s/app.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: LoadBalancer\n"
        )
        repo.write(
            "k8s/debug.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  containers:\n"
            "    - name: sh\n      image: busybox:1.36\n      securityContext:\n        privileged: true\n",
        )
    else:
        repo.write(
            "k8s/app.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-v2\nspec:\n  type: ClusterIP\n"
        )
    repo.commit("agent change")
    return base


def seed_include_cache(repo: GitRepo) -> None:
    """Where gitlab-ci-local keeps what it fetched: the files GitLab would fetch at v0.1.0."""
    includes = repo.root / ".gitlab-ci-local" / "includes"
    component = includes / "gitlab.example.com" / "agentctl" / "agentctl" / "v0.1.0" / "templates"
    component.mkdir(parents=True)
    shutil.copy(COMPONENT, component / "agentctl-check.yml")
    remote = includes / REMOTE_URL.removeprefix("https://")
    remote.parent.mkdir(parents=True)
    shutil.copy(PLAIN, remote)


def run_pipeline(repo: GitRepo, base: str, wheelhouse: Path, *variables: str) -> subprocess.CompletedProcess[str]:
    seed_include_cache(repo)
    # a runner's PATH: python3 (the interpreter this venv was made from, so the wheelhouse fits it),
    # node for gitlab-ci-local, no agentctl: the job installs its own
    runner_bin = repo.root.parent / "runner-bin"
    runner_bin.mkdir(exist_ok=True)
    (runner_bin / "python3").symlink_to(BASE_PYTHON)
    node = Path(shutil.which("node") or "/usr/bin/node").parent
    home = repo.root.parent / "home"
    home.mkdir(exist_ok=True)
    env = {
        **clean_environ(),  # no PYTHONPATH: the job must not see (and so cannot uninstall) the test venv's agentctl
        "PATH": f"{runner_bin}:{node}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        **offline_pip_env(wheelhouse),  # offline: dependencies and build backend from the wheelhouse
        "GCL_IGNORE_PREDEFINED_VARS": "CI_PIPELINE_SOURCE,CI_PROJECT_DIR",
        "NO_COLOR": "1",
    }
    command = [
        str(GITLAB_CI_LOCAL),
        "--force-shell-executor",
        "--shell-isolation",
        "--no-color",
        "--variable",
        "CI_PIPELINE_SOURCE=merge_request_event",
        # What a shell runner gives: the directory the job runs in. gitlab-ci-local would say
        # /builds/<group>/<project> (the job has an image:), a path outside this test that every
        # concurrent run shares, so the job's venv beside it would be too.
        "--variable",
        f"CI_PROJECT_DIR={job_dir(repo)}",
        "--variable",
        f"CI_MERGE_REQUEST_DIFF_BASE_SHA={base}",
        *[arg for variable in variables for arg in ("--variable", variable)],
        "agentctl-check",
    ]
    before = PythonState.capture()
    proc = subprocess.run(command, cwd=repo.root, env=env, capture_output=True, text=True, timeout=600)
    before.assert_unchanged_by(f"the GitLab job (log: {proc.stdout[-2000:]})")
    assert_job_venv_has_its_own_agentctl(repo)
    return proc


def job_dir(repo: GitRepo) -> Path:
    return repo.root / ".gitlab-ci-local" / "builds" / "agentctl-check"


def assert_job_venv_has_its_own_agentctl(repo: GitRepo) -> None:
    """agentctl and its dependencies were installed into the job's venv, from this checkout, not as editable."""
    venv = Path(f"{job_dir(repo)}.agentctl-venv")
    site_packages = [str(p) for p in venv.glob("lib/python*/site-packages")]
    installed = {dist.metadata["Name"].lower(): dist for dist in importlib.metadata.distributions(path=site_packages)}
    assert "agentctl-cli" in installed, f"no agentctl in the job's venv {venv}: {sorted(installed)}"
    assert {"typer", "pydantic", "pyyaml"} <= set(installed)  # its dependencies too: nothing borrowed
    direct_url = json.loads(installed["agentctl-cli"].read_text("direct_url.json") or "{}")
    assert direct_url.get("url") == REPO_ROOT.as_uri() and not direct_url["dir_info"].get("editable"), direct_url
    assert (venv / "bin" / "agentctl").exists()


COMPONENT_INCLUDE = f"""\
include:
  - component: {COMPONENT_REF}
    inputs:
      install: {REPO_ROOT}
      fail-on: high
      codequality-report: quality.json
      junit-report: junit.xml
"""
PLAIN_INCLUDE = f"include:\n  - remote: {REMOTE_URL}\n"
SHAPES = {
    # name: (.gitlab-ci.yml, extra --variable, code quality path, junit path)
    "component": (COMPONENT_INCLUDE, (), "quality.json", "junit.xml"),
    "plain-include": (
        PLAIN_INCLUDE,
        (f"AGENTCTL_INSTALL={REPO_ROOT}",),
        "gl-code-quality-report.json",
        "agentctl-junit.xml",
    ),
}


@needs_gitlab_ci_local
@pytest.mark.parametrize("shape", SHAPES)
def test_merge_request_with_findings_fails_and_reports_them(repo: GitRepo, wheelhouse: Path, shape: str) -> None:
    include, variables, quality_path, junit_path = SHAPES[shape]
    base = merge_request(repo, include, bad=True)
    proc = run_pipeline(repo, base, wheelhouse, *variables)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log
    assert "agentctl-check $ agentctl --version" in log
    assert "k8s-privileged-container" in log  # the table in the job log
    assert "FAIL" in log

    build = repo.root / ".gitlab-ci-local" / "builds" / "agentctl-check"
    quality = json.loads((build / quality_path).read_text())
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

    junit = JUnitXml.fromfile(str(build / junit_path))
    cases = [case for suite in junit for case in suite]
    failed = [case for case in cases if case.result and not case.is_passed and not case.is_skipped]
    assert any("k8s-privileged-container" in case.name for case in failed)
    assert any("k8s-loadbalancer-service" in case.name for case in failed)

    expanded = yaml.safe_load((repo.root / ".gitlab-ci-local" / "expanded-gitlab-ci.yml").read_text())
    assert expanded["agentctl-check"]["artifacts"]["reports"] == {"codequality": quality_path, "junit": junit_path}


@needs_gitlab_ci_local
@pytest.mark.parametrize("shape", SHAPES)
def test_clean_merge_request_passes(repo: GitRepo, wheelhouse: Path, shape: str) -> None:
    include, variables, quality_path, junit_path = SHAPES[shape]
    base = merge_request(repo, include, bad=False)
    proc = run_pipeline(repo, base, wheelhouse, *variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build = repo.root / ".gitlab-ci-local" / "builds" / "agentctl-check"
    assert json.loads((build / quality_path).read_text()) == []
    JUnitXml.fromfile(str(build / junit_path))
