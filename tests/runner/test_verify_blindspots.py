"""Verify after a tool call sees what Terraform and kubectl read, not just what git shows as a changed IaC file.

Red-team round 5 (attack5): each test is a way to leave IaC behind through a tool
call the pre-check could not judge (a shell write), which the post-call verify
missed — a git-ignored override or tfvars file, a ``.tofu`` file, a variable
changed in a file with no resources, a target behind a tracked ``.tf`` symlink,
a Kustomize patch. Driven in a real git repository with the real evaluator.
"""

from __future__ import annotations

import os
import shutil

import pytest

from agentctl.engine.evaluate import Evaluator
from agentctl.gate.decide import load_book
from agentctl.runner.verify import Verifier
from tests.conftest import GitRepo

CPU = 'resource "aws_instance" "web" {\n  ami           = "ami-1"\n  instance_type = "m6i.large"\n}\n'
GPU = CPU.replace("m6i.large", "p4d.24xlarge")
VARIABLE = 'variable "type" {\n  default = "m6i.large"\n}\n'
USES_VARIABLE = 'resource "aws_instance" "web" {\n  ami           = "ami-1"\n  instance_type = var.type\n}\n'
TERRAFORM_GITIGNORE = "*.tfstate\n.terraform/\noverride.tf\n*_override.tf\n*.tfvars\n*.tfvars.json\n"


def verifier(repo: GitRepo) -> Verifier:
    return Verifier(repo.root, repo.git("rev-parse", "HEAD"), Evaluator(load_book(repo.root, []))).start()


def rules(check: Verifier) -> list[str]:
    return sorted({f.rule_id for f in check.scan()})


def test_a_git_ignored_override_file_is_verified(repo: GitRepo) -> None:
    repo.write(".gitignore", TERRAFORM_GITIGNORE)  # GitHub's Terraform template ignores overrides and tfvars
    repo.write("envs/dev/main.tf", CPU)
    repo.commit()
    check = verifier(repo)
    repo.write("envs/dev/main_override.tf", 'resource "aws_instance" "web" {\n  instance_type = "p4d.24xlarge"\n}\n')
    assert "gpu-instance-outside-production" in rules(check)
    assert "envs/dev/main_override.tf" in check.changed_iac()


def test_a_git_ignored_tfvars_file_is_verified_in_its_module(repo: GitRepo) -> None:
    repo.write(".gitignore", TERRAFORM_GITIGNORE)
    repo.write("envs/dev/variables.tf", VARIABLE)
    repo.write("envs/dev/main.tf", USES_VARIABLE)
    repo.write("envs/dev/terraform.tfvars", 'type = "m6i.large"\n')  # ignored: the person's own, before the run
    repo.commit()
    check = verifier(repo)
    assert check.scan() == []
    repo.write("envs/dev/terraform.tfvars", 'type = "p4d.24xlarge"\n')
    assert rules(check) == ["gpu-instance-outside-production"]
    repo.write("envs/dev/terraform.tfvars", 'type = "m6i.xlarge"\n')
    assert check.scan() == []


def test_a_variable_default_changed_in_a_file_without_resources_is_judged_through_the_module(repo: GitRepo) -> None:
    repo.write("envs/dev/variables.tf", VARIABLE)
    repo.write("envs/dev/main.tf", USES_VARIABLE)
    repo.commit()
    check = verifier(repo)
    repo.write("envs/dev/variables.tf", VARIABLE.replace("m6i.large", "p4d.24xlarge"))
    [finding] = check.scan()
    assert finding.rule_id == "gpu-instance-outside-production"
    assert finding.location.path == "envs/dev/main.tf"


def test_iac_hidden_by_a_gitignore_the_agent_writes_is_verified(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU)
    repo.write("build/out.tf", CPU)  # ignored before the run: not the agent's doing
    repo.write(".gitignore", "build/\n")
    repo.commit()
    check = verifier(repo)
    assert check.scan() == []
    repo.write("envs/.gitignore", "prod2/\nsecret.tf\n")
    repo.write("envs/prod2/main.tf", GPU)  # a whole root module git no longer shows
    repo.write("envs/dev/secret.tf", GPU.replace('"web"', '"hidden"'))
    found = {(f.rule_id, f.location.path) for f in check.scan()}
    assert ("gpu-instance-outside-production", "envs/prod2/main.tf") in found
    assert ("gpu-instance-outside-production", "envs/dev/secret.tf") in found
    assert "build/out.tf" not in {path for _, path in found}


def test_a_value_terraform_reads_with_file_is_verified(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU.replace('"m6i.large"', 'trimspace(file("${path.module}/type.txt"))'))
    repo.write("envs/dev/type.txt", "m6i.large\n")
    repo.commit()
    check = verifier(repo)
    assert check.scan() == []
    repo.write("envs/dev/type.txt", "p4d.24xlarge\n")  # a text file git shows; Terraform reads it as the type
    assert rules(check) == ["gpu-instance-outside-production"]


def test_an_opentofu_file_is_verified(repo: GitRepo) -> None:
    repo.write("envs/dev/main.tf", CPU)
    repo.commit()
    check = verifier(repo)
    repo.write("envs/dev/gpu.tofu", GPU.replace('"web"', '"gpu"'))
    assert "gpu-instance-outside-production" in rules(check)


def test_the_target_of_a_tracked_tf_symlink_is_verified_as_terraform(repo: GitRepo) -> None:
    repo.write("notes/instance.txt", CPU)
    (repo.root / "envs/dev").mkdir(parents=True)
    os.symlink("../../notes/instance.txt", repo.root / "envs/dev/instance.tf")
    repo.commit()
    check = verifier(repo)
    assert check.scan() == []
    repo.write("notes/instance.txt", GPU)  # git shows a changed .txt file; Terraform reads it as instance.tf
    [finding] = check.scan()
    assert (finding.rule_id, finding.location.path) == ("gpu-instance-outside-production", "envs/dev/instance.tf")


def test_unchanged_iac_and_harmless_changes_pass(repo: GitRepo) -> None:
    repo.write(".gitignore", TERRAFORM_GITIGNORE)
    repo.write("envs/dev/variables.tf", VARIABLE)
    repo.write("envs/dev/main.tf", USES_VARIABLE)
    repo.commit()
    check = verifier(repo)
    repo.write("envs/dev/terraform.tfvars", 'type = "m6i.xlarge"\n')
    repo.write("envs/dev/outputs.tf", 'output "id" {\n  value = aws_instance.web.id\n}\n')
    repo.write("README.md", "docs\n")
    assert check.scan() == []


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""
KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deploy.yaml
patches:
  - path: patch.yaml
    target: {kind: Deployment, name: web}
"""


@pytest.mark.skipif(shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no kustomize")
def test_a_json6902_patch_written_through_the_shell_is_rendered_and_judged(repo: GitRepo) -> None:
    repo.write("k8s/deploy.yaml", DEPLOYMENT)
    repo.write("k8s/kustomization.yaml", KUSTOMIZATION)
    repo.write("k8s/patch.yaml", "- op: replace\n  path: /spec/replicas\n  value: 1\n")
    repo.commit()
    check = verifier(repo)
    repo.write(
        "k8s/patch.yaml",
        "- op: add\n  path: /spec/template/spec/containers/0/securityContext\n  value:\n    privileged: true\n",
    )
    assert "k8s-privileged-container" in rules(check)
