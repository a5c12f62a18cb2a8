"""A Kustomize overlay change is rendered at BASE and HEAD and judged, located at the overlay.

Needs ``kustomize`` or ``kubectl`` (with its built-in Kustomize) on PATH.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import GitRepo

pytestmark = pytest.mark.skipif(
    not (shutil.which("kustomize") or shutil.which("kubectl")), reason="needs kustomize or kubectl"
)

BASE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
"""

BASE_KUSTOMIZATION = "resources:\n  - deployment.yaml\n"

OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
resources:
  - ../../base
patches:
  - path: security.yaml
"""

PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext:
            privileged: PRIVILEGED
"""


def test_overlay_that_makes_a_container_privileged_is_caught_at_the_overlay(repo: GitRepo, agentctl) -> None:
    repo.write("deploy/base/deployment.yaml", BASE_DEPLOYMENT)
    repo.write("deploy/base/kustomization.yaml", BASE_KUSTOMIZATION)
    repo.write("deploy/overlays/prod/kustomization.yaml", OVERLAY)
    repo.write("deploy/overlays/prod/security.yaml", PATCH.replace("PRIVILEGED", "false"))
    repo.commit("base")
    repo.write("deploy/overlays/prod/security.yaml", PATCH.replace("PRIVILEGED", "true"))
    repo.commit("agent: debug access")

    result = agentctl("check", "--diff", "HEAD~1", "--format", "json", cwd=repo.root)
    assert result.code == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    privileged = [f for f in findings if f["rule_id"] == "k8s-privileged-container"]
    paths = {f["path"] for f in privileged}
    assert "deploy/overlays/prod/kustomization.yaml" in paths, privileged
    rendered = next(f for f in privileged if f["path"] == "deploy/overlays/prod/kustomization.yaml")
    assert "prod" in rendered["message"] or "prod" in str(rendered.get("address", ""))


def test_unchanged_overlay_rendering_gives_no_new_finding(repo: GitRepo, agentctl) -> None:
    repo.write("deploy/base/deployment.yaml", BASE_DEPLOYMENT)
    repo.write("deploy/base/kustomization.yaml", BASE_KUSTOMIZATION)
    repo.write("deploy/overlays/prod/kustomization.yaml", OVERLAY)
    repo.write("deploy/overlays/prod/security.yaml", PATCH.replace("PRIVILEGED", "false"))
    repo.commit("base")
    repo.write("deploy/overlays/prod/security.yaml", PATCH.replace("PRIVILEGED", "false") + "# reviewed\n")
    repo.commit("comment only")
    result = agentctl("check", "--diff", "HEAD~1", "--format", "json", cwd=repo.root)
    findings = json.loads(result.stdout)["findings"]
    assert not [f for f in findings if f["rule_id"] == "k8s-privileged-container"], findings


def test_overlay_with_a_remote_base_is_not_rendered(repo: GitRepo, agentctl) -> None:
    repo.write("deploy/overlays/prod/kustomization.yaml", "resources:\n  - https://github.com/example/app//base\n")
    repo.commit("base")
    repo.write(
        "deploy/overlays/prod/kustomization.yaml", "resources:\n  - https://github.com/example/app//base?ref=x\n"
    )
    repo.commit("agent")
    result = agentctl("check", "--diff", "HEAD~1", "--format", "json", cwd=repo.root)
    notes = json.loads(result.stdout)["notes"]
    assert any("remote bases" in str(n) for n in notes), notes
