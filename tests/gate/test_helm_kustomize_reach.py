"""Helm values and files a kustomization names whatever their extension (issue #11, lasttwo).

A chart's ``values.yaml`` reaches its templates' ``securityContext`` and a
kustomization reads ``pod.txt`` as a resource: the gate, the post-call verify
and ``agentctl check --diff`` judge both, in real git repositories with the
real evaluator (and ``kubectl kustomize`` for the overlays). Nothing here is
executed but git and agentctl: the gate only judges the text.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from agentctl.engine.evaluate import Evaluator
from agentctl.gate.decide import Decision, Gatekeeper, load_book
from agentctl.runner.verify import Verifier
from tests.conftest import GitRepo, agentctl_binary

no_kustomize = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no kustomize/kubectl on PATH"
)

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
TEMPLATE = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n"
    "      image: nginx:{{ .Values.image.tag }}\n      securityContext:\n"
    "        {{- toYaml .Values.securityContext | nindent 8 }}\n"
)
VALUES = "image:\n  tag: '1.27'\nsecurityContext:\n  privileged: false\n  runAsUser: 1000\n"
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    - name: w\n      image: nginx:1.27\n"
PRIVILEGED_POD = POD + "      securityContext:\n        privileged: true\n"
KUSTOMIZATION = (
    "resources:\n  - deploy.yaml\n  - pod.txt\nconfigMapGenerator:\n  - name: app\n    files:\n      - app.conf\n"
)
DEPLOY = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n"


@pytest.fixture
def project(repo: GitRepo) -> GitRepo:
    repo.write("chart/Chart.yaml", CHART)
    repo.write("chart/values.yaml", VALUES)
    repo.write("chart/templates/pod.yaml", TEMPLATE)
    repo.write("k8s/deploy.yaml", DEPLOY)
    repo.write("k8s/kustomization.yaml", KUSTOMIZATION)
    repo.write("k8s/pod.txt", POD)
    repo.write("k8s/app.conf", "mode=prod\n")
    repo.write("k8s/notes.txt", "not named by the kustomization\n")
    repo.write("overlay/kustomization.yaml", "resources:\n  - ../base\nnamePrefix: prod-\n")
    repo.write("base/kustomization.yaml", "resources:\n  - worker.pod\n")
    repo.write("base/worker.pod", POD.replace("name: x", "name: worker"))
    repo.write("values/values.yaml", "securityContext:\n  privileged: false\n")  # no Chart.yaml beside it
    repo.commit()
    return repo


def write(repo: GitRepo, path: str, content: str) -> Decision:
    keeper = Gatekeeper(repo.root, load_book(repo.root, []))
    payload = {"tool_name": "Write", "tool_input": {"file_path": path, "content": content}, "cwd": str(repo.root)}
    return keeper.decide(payload, "claude")


def rules(decision: Decision) -> set[str]:
    return {f.rule_id for f in decision.findings if f.active}


# --- Helm values


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("securityContext:\n  privileged: true\n", "k8s-privileged-container"),
        ("podSecurityContext: {}\nhostNetwork: true\n", "k8s-host-namespaces"),
        ("worker:\n  volumes:\n    - hostPath: /var/run/docker.sock\n", "k8s-container-runtime-socket"),
        ("securityContext:\n  privileged: yes\n", "k8s-privileged-container"),  # go-yaml reads yes as true
    ],
)
def test_a_chart_values_write_that_turns_on_a_pod_security_setting_is_denied(
    project: GitRepo, content: str, rule: str
) -> None:
    decision = write(project, "chart/values.yaml", content)
    assert decision.decision == "deny", decision.reason
    assert rule in rules(decision)
    assert "chart/values.yaml" in decision.reason


def test_another_values_file_of_the_chart_is_judged_too(project: GitRepo) -> None:
    decision = write(project, "chart/values-prod.yaml", "securityContext:\n  privileged: true\n")
    assert decision.decision == "deny" and "k8s-privileged-container" in rules(decision)


@pytest.mark.parametrize(
    "content",
    [
        VALUES.replace("1.27", "1.28"),  # an image tag
        "image:\n  tag: '1.28'\nsecurityContext:\n  privileged: false\n  allowPrivilegeEscalation: false\n",
        "persistence:\n  hostPath: ''\nreplicaCount: 3\n",  # an empty hostPath is no volume
    ],
)
def test_values_that_set_nothing_dangerous_pass(project: GitRepo, content: str) -> None:
    decision = write(project, "chart/values.yaml", content)
    assert decision.decision == "allow", decision.reason
    assert not rules(decision)


def test_only_what_the_write_changes_is_judged(project: GitRepo) -> None:
    project.write("chart/values.yaml", "image:\n  tag: '1'\nsecurityContext:\n  privileged: true\n")
    project.commit()  # privileged already: the person's choice, before this write
    decision = write(project, "chart/values.yaml", "image:\n  tag: '2'\nsecurityContext:\n  privileged: true\n")
    assert decision.decision == "allow", decision.reason
    added = write(
        project,
        "chart/values.yaml",
        "image:\n  tag: '2'\nsecurityContext:\n  privileged: true\n"
        "sidecar:\n  securityContext:\n    privileged: true\n",
    )
    assert added.decision == "deny" and "sidecar.securityContext" in added.reason


def test_a_values_yaml_without_a_chart_is_not_read_as_helm_values(project: GitRepo) -> None:
    decision = write(project, "values/values.yaml", "securityContext:\n  privileged: true\n")
    assert decision.decision == "allow", decision.reason


def test_a_chart_created_in_the_same_patch_makes_its_values_judged(repo: GitRepo) -> None:
    repo.write("README.md", "# x\n")
    repo.commit()
    keeper = Gatekeeper(repo.root, load_book(repo.root, []))
    patch = (
        "*** Begin Patch\n*** Add File: new/Chart.yaml\n+apiVersion: v2\n+name: n\n+version: 0.1.0\n"
        "*** Add File: new/values.yaml\n+securityContext:\n+  privileged: true\n*** End Patch\n"
    )
    payload = {"tool_name": "apply_patch", "tool_input": {"command": patch}, "cwd": str(repo.root)}
    decision = keeper.decide(payload, "codex")
    assert decision.decision == "deny" and "k8s-privileged-container" in rules(decision)


# --- files a kustomization names, whatever their extension


@no_kustomize
def test_a_resource_with_a_txt_name_is_rendered_and_judged(project: GitRepo) -> None:
    decision = write(project, "k8s/pod.txt", PRIVILEGED_POD)
    assert decision.decision == "deny", decision.reason
    assert "k8s-privileged-container" in rules(decision)


@no_kustomize
def test_a_resource_a_base_names_is_reached_through_the_overlay_in_another_directory(project: GitRepo) -> None:
    decision = write(project, "base/worker.pod", PRIVILEGED_POD.replace("name: x", "name: worker"))
    assert decision.decision == "deny" and "k8s-privileged-container" in rules(decision)


@no_kustomize
def test_harmless_resource_edits_and_unnamed_files_pass(project: GitRepo) -> None:
    assert write(project, "k8s/pod.txt", POD.replace("1.27", "1.28")).decision == "allow"
    assert write(project, "k8s/notes.txt", "privileged: true\n").decision == "allow"  # no kustomization names it
    assert write(project, "k8s/app.conf", "mode=dev\nprivileged: true\n").decision == "allow"  # generator data


def test_without_a_renderer_a_named_resource_fails_closed(project: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agentctl.sources.kustomize.shutil.which", lambda _name: None)
    decision = write(project, "k8s/pod.txt", PRIVILEGED_POD)
    assert decision.decision == "deny", decision.reason
    assert "kustomize" in decision.reason
    assert write(project, "k8s/notes.txt", "anything\n").decision == "allow"  # not named: nothing to render


# --- verify after a call


@no_kustomize
def test_verify_sees_a_named_resource_and_a_values_file_written_by_the_shell(project: GitRepo) -> None:
    check = Verifier(project.root, project.git("rev-parse", "HEAD"), Evaluator(load_book(project.root, []))).start()
    assert check.scan() == []
    project.write("k8s/pod.txt", PRIVILEGED_POD)
    assert "k8s/pod.txt" in check.changed_iac(inputs=True)
    assert {f.rule_id for f in check.scan()} == {"k8s-privileged-container"}
    project.write("k8s/pod.txt", POD)
    project.write("chart/values.yaml", "securityContext:\n  privileged: true\n")
    found = check.scan()
    assert [f.rule_id for f in found] == ["k8s-privileged-container"] and found[0].location.path == "chart/values.yaml"


# --- agentctl check


def check(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    home = repo.root.parent / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(
        [agentctl_binary(), "check", *args], cwd=repo.root, capture_output=True, text=True, env=env, timeout=300
    )


@no_kustomize
def test_check_diff_blocks_both_and_passes_harmless_edits(project: GitRepo) -> None:
    project.write("chart/values.yaml", "securityContext:\n  privileged: true\n")
    project.write("k8s/pod.txt", PRIVILEGED_POD)
    blocked = check(project, "--diff", "HEAD")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "chart/values.yaml" in blocked.stdout and "kustomize k8s" in blocked.stdout
    assert blocked.stdout.count("k8s-privileged-container") == 2
    project.write("chart/values.yaml", VALUES.replace("1.27", "1.28"))
    project.write("k8s/pod.txt", POD.replace("1.27", "1.28"))
    passed = check(project, "--diff", "HEAD")
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_check_of_a_chart_reads_its_values(project: GitRepo) -> None:
    project.write("chart/values.yaml", "securityContext:\n  privileged: true\n")
    assert "k8s-privileged-container" in check(project, "chart").stdout
    project.write("chart/values.yaml", VALUES)
    assert "k8s-privileged-container" not in check(project, "chart").stdout
