"""The issue's acceptance scenario: an agent's commit that does five bad things at once.

Drives the installed ``agentctl`` against a real git repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.conftest import REPO_ROOT, GitRepo

SARIF_SCHEMA = REPO_ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"

NODE_GROUP = """\
resource "aws_eks_node_group" "workers" {
  cluster_name    = "main"
  node_group_name = "workers"
  instance_types  = ["m5.large"]

  scaling_config {
    desired_size = DESIRED
    max_size     = MAX
    min_size     = 1
  }
}
"""

BUCKETS = """\
resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}

resource "aws_s3_bucket" "state" {
  bucket = "acme-terraform-state"

  lifecycle {
    prevent_destroy = true
  }
}
"""

BUCKETS_AFTER = """\
resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}

resource "aws_s3_bucket_acl" "logs" {
  bucket = aws_s3_bucket.logs.id
  acl    = "public-read"
}
"""

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
      containers:
        - name: web
          image: nginx:1.27.0
          securityContext:
            allowPrivilegeEscalation: false
          resources:
            limits: {cpu: 500m, memory: 256Mi}
"""

PRIVILEGED_POD = """\
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
"""

TEAM_POLICY = """\
apiVersion: agentctl/v1
kind: PolicySet
metadata:
  name: team
rules:
  - id: team-node-group-max
    title: Node groups stay small
    severity: high
    action: deny
    target: terraform
    match:
      types: [aws_eks_node_group]
    condition: resource.scaling_config[0].desired_size > LIMIT
    message: "{address} wants {resource.scaling_config[0].desired_size} nodes"
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_agent_commit_is_blocked_with_every_violation_located(repo: GitRepo, agentctl, tmp_path: Path) -> None:
    repo.write("envs/dev/eks.tf", NODE_GROUP.replace("DESIRED", "2").replace("MAX", "4"))
    repo.write("envs/dev/s3.tf", BUCKETS)
    repo.write("k8s/app.yaml", APP)
    repo.write("policies/team.yaml", TEAM_POLICY.replace("LIMIT", "5"))
    repo.commit("base")

    repo.write("envs/dev/eks.tf", NODE_GROUP.replace("DESIRED", "6").replace("MAX", "12"))
    repo.write("envs/dev/s3.tf", BUCKETS_AFTER)
    repo.write("k8s/app.yaml", APP + PRIVILEGED_POD)
    repo.write("policies/team.yaml", TEAM_POLICY.replace("LIMIT", "500"))  # the agent "disables" the rule
    repo.commit("agent: scale workers, share logs, add debug pod")

    sarif_path = tmp_path / "out.sarif"
    result = agentctl("check", "--diff", "HEAD~1", "--format", "json", "--format", f"sarif={sarif_path}", cwd=repo.root)
    assert result.code == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(f["rule_id"], f["path"], f["start_line"]) for f in report["findings"] if f["status"] == "open"}

    app_after = APP + PRIVILEGED_POD
    expected = {
        ("scale-jump", "envs/dev/eks.tf", 1),
        # judged by the BASE version of the team policy (limit 5), not the edited one
        ("team-node-group-max", "envs/dev/eks.tf", 1),
        ("aws-s3-public-acl", "envs/dev/s3.tf", line_of(BUCKETS_AFTER, 'resource "aws_s3_bucket_acl"')),
        ("protected-resource-deleted", "envs/dev/s3.tf", line_of(BUCKETS, 'resource "aws_s3_bucket" "state"')),
        ("stateful-resource-deleted", "envs/dev/s3.tf", line_of(BUCKETS, 'resource "aws_s3_bucket" "state"')),
        ("k8s-privileged-container", "k8s/app.yaml", line_of(app_after, "apiVersion: v1")),
        ("policy-file-changed", "policies/team.yaml", 1),
    }
    assert expected <= found, f"missing: {expected - found}"

    by_rule = {f["rule_id"]: f for f in report["findings"]}
    assert by_rule["scale-jump"]["change"] == "update"
    assert "desired_size 2 -> 6" in by_rule["scale-jump"]["message"]
    assert by_rule["protected-resource-deleted"]["change"] == "delete"
    assert by_rule["protected-resource-deleted"]["address"] == "aws_s3_bucket.state"
    assert by_rule["k8s-privileged-container"]["address"] == "Pod/shop/debug"
    assert by_rule["team-node-group-max"]["source"].startswith("policies/team.yaml@")
    # the unchanged Deployment is not judged in diff mode
    assert not any(f["address"] == "Deployment/shop/web" for f in report["findings"])
    assert report["verdict"] == "blocked"

    sarif = json.loads(sarif_path.read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(sarif, schema)
    rule_ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {f"agentctl/{rule}" for rule, _, _ in expected} <= rule_ids
    assert "BLOCKED" in result.stderr


def test_same_change_without_diff_judges_everything_as_new(repo: GitRepo, agentctl) -> None:
    repo.write("k8s/app.yaml", APP + PRIVILEGED_POD)
    repo.commit("base")
    result = agentctl("check", "--format", "json", cwd=repo.root)
    report = json.loads(result.stdout)
    assert {f["change"] for f in report["findings"]} == {"create"}
    assert result.code == 1


def test_a_clean_change_passes(repo: GitRepo, agentctl) -> None:
    repo.write("envs/dev/eks.tf", NODE_GROUP.replace("DESIRED", "2").replace("MAX", "4"))
    repo.commit("base")
    repo.write("envs/dev/eks.tf", NODE_GROUP.replace("DESIRED", "3").replace("MAX", "4"))
    repo.commit("small scale-up")
    result = agentctl("check", "--diff", "HEAD~1", cwd=repo.root)
    assert result.code == 0, result.stdout + result.stderr
    assert "passed" in result.stderr
