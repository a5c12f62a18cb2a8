"""``check`` sees what Terraform will build: module inputs, variables, tfvars, deletions.

Drives the installed ``agentctl`` against real git repositories; ``terraform
fmt`` (when installed) is the oracle that the fixtures are valid Terraform.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, GitRepo

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "terraform"
TERRAFORM = shutil.which("terraform") or (
    "/usr/local/bin/terraform" if Path("/usr/local/bin/terraform").exists() else None
)


def copy_fixture(name: str, repo: GitRepo) -> None:
    shutil.copytree(FIXTURES / name, repo.root, dirs_exist_ok=True)


def findings(stdout: str) -> list[dict[str, object]]:
    return json.loads(stdout)["findings"]  # type: ignore[no-any-return]


def test_scale_up_and_gpu_only_through_inputs_are_reported_where_the_input_changed(agentctl, repo: GitRepo) -> None:
    copy_fixture("module-inputs", repo)
    repo.commit("base")
    repo.write("terraform.tfvars", "# sizes for the demo cluster\nnode_count = 60\n")
    variables = (repo.root / "variables.tf").read_text()
    repo.write("variables.tf", variables.replace('"m5.large"', '"g5.12xlarge"'))

    result = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert result.code == 3, result.stderr
    by_rule = {f["rule_id"]: f for f in findings(result.stdout)}
    address = 'module.eks.aws_eks_node_group.this["gpu"]'
    scale, gpu = by_rule["scale-jump"], by_rule["gpu-instance-outside-production"]
    assert scale["address"] == gpu["address"] == address
    assert (scale["path"], scale["start_line"]) == ("terraform.tfvars", 2)
    assert "2 -> 60" in str(scale["message"])
    assert (gpu["path"], gpu["start_line"]) == ("variables.tf", 8)
    assert "g5.12xlarge" in str(gpu["message"])

    table = agentctl("check", "--diff", "HEAD", cwd=repo.root)
    assert "terraform.tfvars:2" in table.stdout and "variables.tf:8" in table.stdout


def test_a_module_argument_change_is_located_at_the_module_call(agentctl, repo: GitRepo) -> None:
    copy_fixture("module-inputs", repo)
    repo.commit("base")
    main = (repo.root / "main.tf").read_text()
    repo.write("main.tf", main.replace("[var.gpu_type]", '["p4d.24xlarge"]'))
    result = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert result.code == 3, result.stderr
    [gpu] = [f for f in findings(result.stdout) if f["rule_id"] == "gpu-instance-outside-production"]
    assert gpu["address"] == 'module.eks.aws_eks_node_group.this["gpu"]'
    assert (gpu["path"], gpu["start_line"]) == ("main.tf", 4)


def test_an_unrelated_edit_of_the_root_is_not_a_change_of_the_module_resources(agentctl, repo: GitRepo) -> None:
    copy_fixture("module-inputs", repo)
    repo.commit("base")
    repo.write("outputs.tf", 'output "cluster" {\n  value = "demo"\n}\n')
    result = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert result.code == 0, result.stdout
    assert findings(result.stdout) == []


def test_deleting_a_cluster_and_a_database_requires_approval(agentctl, repo: GitRepo) -> None:
    repo.write(
        "main.tf",
        'resource "aws_eks_cluster" "main" {\n  name     = "main"\n  role_arn = "arn:aws:iam::1:role/eks"\n\n'
        '  vpc_config {\n    subnet_ids = ["subnet-1"]\n  }\n}\n\n'
        'resource "aws_db_instance" "orders" {\n  engine         = "postgres"\n  instance_class = "db.t3.micro"\n}\n\n'
        'resource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n',
    )
    repo.commit("base")
    repo.write("main.tf", 'resource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n')
    result = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert result.code == 3, result.stdout
    ids = {(f["rule_id"], f["address"]) for f in findings(result.stdout)}
    assert ("cluster-deleted", "aws_eks_cluster.main") in ids
    assert ("stateful-resource-deleted", "aws_db_instance.orders") in ids


def test_mass_deletion_threshold_comes_from_agentctl_yaml(agentctl, repo: GitRepo) -> None:
    repo.write("main.tf", "".join(f'resource "aws_sqs_queue" "q{i}" {{\n  name = "q{i}"\n}}\n\n' for i in range(4)))
    repo.write("agentctl.yaml", "terraform:\n  mass_change_threshold: 3\n")
    repo.commit("base")
    repo.write("main.tf", "")
    result = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert result.code == 3, result.stdout
    [mass] = [f for f in findings(result.stdout) if f["rule_id"] == "mass-deletion"]
    assert "deletes 4 resources" in str(mass["message"])
    repo.write("agentctl.yaml", "terraform:\n  mass_change_threshold: 10\n")
    repo.commit("raise the threshold")  # (BASE now has no queues: re-create the scenario)
    repo.write("main.tf", "".join(f'resource "aws_sqs_queue" "q{i}" {{\n  name = "q{i}"\n}}\n\n' for i in range(4)))
    repo.commit("queues again")
    repo.write("main.tf", "")
    again = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert "mass-deletion" not in {f["rule_id"] for f in findings(again.stdout)}


def test_configured_var_files_are_applied(agentctl, repo: GitRepo) -> None:
    copy_fixture("module-inputs", repo)
    repo.write("envs/prod.tfvars", 'gpu_type = "g5.48xlarge"\n')
    repo.write("agentctl.yaml", "terraform:\n  var_files: [envs/prod.tfvars]\n")
    result = agentctl("check", "--format", "json", ".", cwd=repo.root)
    gpu = [f for f in findings(result.stdout) if f["rule_id"] == "gpu-instance-outside-production"]
    assert gpu and "g5.48xlarge" in str(gpu[0]["message"])


def test_eks_examples_of_the_corpus_yield_findings_on_module_instantiated_resources(
    agentctl, corpus: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "terraform-aws-eks"
    shutil.copytree(corpus / "terraform-aws-eks", copy)  # the shared corpus is never modified
    result = agentctl("check", "--format", "json", ".", cwd=copy)
    instantiated = [
        f
        for f in findings(result.stdout)
        if str(f["address"] or "").startswith("module.") and f["path"].endswith(".tf")
    ]
    rules = {f["rule_id"] for f in instantiated}
    assert "aws-eks-public-endpoint-open" in rules  # it comes from the module's default CIDR
    assert "aws-iam-admin-policy-attached" in rules  # a policy map passed into a submodule's for_each
    [endpoint] = [f for f in instantiated if f["address"] == "module.eks.aws_eks_cluster.this[0]"]
    assert endpoint["path"] == "main.tf"


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")
def test_fixtures_are_valid_terraform_per_terraform_fmt(tmp_path: Path) -> None:
    edge = REPO_ROOT / "tests" / "fixtures" / "terraform"
    tf_files = [p for p in edge.rglob("*") if p.suffix in (".tf", ".tfvars")]
    assert tf_files
    for path in tf_files:
        proc = subprocess.run(
            [str(TERRAFORM), "fmt", "-write=false", "-list=false", str(path)],
            capture_output=True,
            env={"TF_CLI_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        expect_valid = "malformed" not in path.name
        assert (proc.returncode == 0) == expect_valid, (path, proc.stderr.decode(errors="replace"))


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")
def test_every_rule_fixture_is_terraform_that_terraform_accepts(tmp_path: Path) -> None:
    """The rule fixtures (which our parser reads without a parse error) are valid HCL to Terraform too."""
    rules = REPO_ROOT / "tests" / "fixtures" / "rules"
    assert len(list(rules.rglob("*.tf"))) > 100
    proc = subprocess.run(
        [str(TERRAFORM), "fmt", "-write=false", "-list=false", "-recursive", str(rules)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


def test_rules_can_test_for_values_known_only_after_apply(agentctl, repo: GitRepo) -> None:
    repo.write(
        "policies/unknown.yaml",
        "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata:\n  name: team\nrules:\n"
        "  - id: ami-must-be-pinned\n    title: AMI comes from a lookup\n    severity: medium\n    action: warn\n"
        "    target: terraform\n    match:\n      types: [aws_instance]\n"
        '    condition: is_unknown(get(resource, "ami", ""))\n'
        "    message: \"{address} takes its AMI from {get(resource, 'ami', '')}\"\n"
        "    remediation: Pin the AMI id.\n",
    )
    repo.write(
        "main.tf",
        'data "aws_ami" "ubuntu" {\n  most_recent = true\n}\n\n'
        'resource "aws_instance" "looked_up" {\n  ami           = data.aws_ami.ubuntu.id\n'
        '  instance_type = "t3.micro"\n}\n\n'
        'resource "aws_instance" "pinned" {\n  ami           = "ami-0123456789abcdef0"\n'
        '  instance_type = "t3.micro"\n}\n',
    )
    result = agentctl("check", "--format", "json", "--policies", "policies", ".", cwd=repo.root)
    hits = [f for f in findings(result.stdout) if f["rule_id"] == "ami-must-be-pinned"]
    assert [f["address"] for f in hits] == ["aws_instance.looked_up"]
    assert "${data.aws_ami.ubuntu.id}" in str(hits[0]["message"])


def test_a_bad_terraform_section_in_agentctl_yaml_is_a_usage_error(agentctl, repo: GitRepo) -> None:
    repo.write("main.tf", 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n')
    repo.write("agentctl.yaml", "terraform:\n  mass_change_threshold: -1\n")
    result = agentctl("check", ".", cwd=repo.root)
    assert result.code == 2
    assert "agentctl.yaml:2: terraform.mass_change_threshold" in result.stderr
    assert "hint: see the terraform section" in result.stderr
    assert "Traceback" not in result.stderr


def test_modules_installed_by_terraform_init_are_evaluated(agentctl, tmp_path: Path) -> None:
    root = tmp_path / "infra"
    (root / ".terraform" / "modules" / "eks" / "modules" / "ng").mkdir(parents=True)
    (root / "main.tf").write_text(
        'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "21.0.0"\n  size    = 80\n}\n'
    )
    (root / ".terraform" / "modules" / "modules.json").write_text(
        json.dumps(
            {
                "Modules": [
                    {"Key": "", "Source": "", "Dir": "."},
                    {"Key": "eks", "Source": "registry.terraform.io/x/eks/aws", "Dir": ".terraform/modules/eks"},
                    {"Key": "eks.ng", "Source": "./modules/ng", "Dir": ".terraform/modules/eks/modules/ng"},
                ]
            }
        )
    )
    (root / ".terraform" / "modules" / "eks" / "main.tf").write_text(
        'variable "size" {}\nmodule "ng" {\n  source = "./modules/ng"\n  nodes  = var.size\n}\n'
    )
    (root / ".terraform" / "modules" / "eks" / "modules" / "ng" / "main.tf").write_text(
        'variable "nodes" {}\nresource "aws_eks_node_group" "this" {\n  scaling_config {\n'
        "    max_size = var.nodes\n  }\n}\n"
    )
    result = agentctl("check", "--format", "json", ".", cwd=root)
    [ceiling] = [f for f in findings(result.stdout) if f["rule_id"] == "node-count-ceiling"]
    assert ceiling["address"] == "module.eks.module.ng.aws_eks_node_group.this"
    assert ceiling["path"] == ".terraform/modules/eks/modules/ng/main.tf"


CLUSTER = (
    'resource "aws_eks_cluster" "NAME" {\n  name     = "main"\n  role_arn = "arn:aws:iam::1:role/eks"\n\n'
    '  vpc_config {\n    subnet_ids = ["subnet-1"]\n  }\n}\n'
)


def test_a_moved_block_is_a_rename_not_a_deletion(agentctl, repo: GitRepo) -> None:
    repo.write("main.tf", CLUSTER.replace("NAME", "main"))
    repo.commit("base")
    repo.write(
        "main.tf",
        CLUSTER.replace("NAME", "primary")
        + "\nmoved {\n  from = aws_eks_cluster.main\n  to   = aws_eks_cluster.primary\n}\n",
    )
    result = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert result.code == 0, result.stdout
    assert findings(result.stdout) == []


def test_a_removed_block_that_keeps_the_resource_is_not_a_deletion(agentctl, repo: GitRepo) -> None:
    repo.write("main.tf", CLUSTER.replace("NAME", "main"))
    repo.commit("base")
    repo.write("main.tf", "removed {\n  from = aws_eks_cluster.main\n\n  lifecycle {\n    destroy = false\n  }\n}\n")
    kept = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert kept.code == 0, kept.stdout
    repo.write("main.tf", "removed {\n  from = aws_eks_cluster.main\n}\n")  # destroy defaults to true
    destroyed = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert destroyed.code == 3
    assert "cluster-deleted" in {f["rule_id"] for f in findings(destroyed.stdout)}
