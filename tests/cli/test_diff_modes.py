"""--diff BASE / BASE..HEAD / BASE...HEAD, --staged and --all against real git history."""

from __future__ import annotations

import json

from tests.conftest import GitRepo

OPEN_SG = """\
resource "aws_security_group" "ssh" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""
PRIVATE_ACL = 'resource "aws_s3_bucket_acl" "a" {\n  acl = "private"\n}\n'
PUBLIC_ACL = 'resource "aws_s3_bucket_acl" "a" {\n  acl = "public-read"\n}\n'


def rules(stdout: str) -> list[str]:
    return sorted(f["rule_id"] for f in json.loads(stdout)["findings"])


def test_diff_against_working_tree_includes_untracked_files(repo: GitRepo, agentctl) -> None:
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit()
    repo.write("new/sg.tf", OPEN_SG)  # untracked
    result = agentctl("check", "--diff", "HEAD", "--format", "json", cwd=repo.root)
    assert rules(result.stdout) == ["aws-security-group-admin-port-open"]
    assert result.code == 1


def test_existing_problems_are_not_blamed_on_an_unrelated_change(repo: GitRepo, agentctl) -> None:
    repo.write("sg.tf", OPEN_SG)
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit("base already has an open SG")
    repo.write("a.tf", PUBLIC_ACL)
    repo.commit()
    result = agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root)
    assert rules(result.stdout) == ["aws-s3-public-acl"]
    with_all = agentctl("check", "--diff", "HEAD~1..HEAD", "--all", "--format", "json", cwd=repo.root)
    report = json.loads(with_all.stdout)
    statuses = {f["rule_id"]: f["status"] for f in report["findings"]}
    assert statuses == {"aws-s3-public-acl": "open", "aws-security-group-admin-port-open": "baseline"}
    assert with_all.code == 1


def test_an_update_that_keeps_an_old_problem_is_baseline(repo: GitRepo, agentctl) -> None:
    repo.write("sg.tf", OPEN_SG)
    repo.commit()
    repo.write("sg.tf", OPEN_SG.replace('"ssh" {', '"ssh" {\n  description = "ssh"'))
    repo.commit()
    result = agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root)
    assert rules(result.stdout) == []
    assert result.code == 0


def test_three_dot_diff_uses_the_merge_base(repo: GitRepo, agentctl) -> None:
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("sg.tf", OPEN_SG)
    repo.commit("feature adds open SG")
    repo.git("checkout", "-q", "main")
    repo.write("a.tf", PUBLIC_ACL)
    repo.commit("main moves on")
    repo.git("checkout", "-q", "feature")
    three = agentctl("check", "--diff", "main...feature", "--format", "json", cwd=repo.root)
    assert rules(three.stdout) == ["aws-security-group-admin-port-open"]
    two = agentctl("check", "--diff", "main..feature", "--format", "json", cwd=repo.root)
    # two dots compare the tips: main's public ACL looks "reverted" (an update back to private)
    assert rules(two.stdout) == ["aws-security-group-admin-port-open"]
    assert "merge-base(main,feature)..feature" in json.loads(three.stdout)["diff"]


def test_staged_judges_the_index_not_the_working_tree(repo: GitRepo, agentctl) -> None:
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit()
    repo.write("a.tf", PUBLIC_ACL)
    repo.git("add", "a.tf")
    repo.write("a.tf", PRIVATE_ACL)  # fixed in the tree, but the bad version is staged
    staged = agentctl("check", "--staged", "--format", "json", cwd=repo.root)
    assert rules(staged.stdout) == ["aws-s3-public-acl"]
    assert staged.code == 1


def test_staged_in_a_repository_without_commits(repo: GitRepo, agentctl) -> None:
    repo.write("sg.tf", OPEN_SG)
    repo.git("add", "sg.tf")
    result = agentctl("check", "--staged", "--format", "json", cwd=repo.root)
    assert rules(result.stdout) == ["aws-security-group-admin-port-open"]


def test_diff_limited_to_a_path(repo: GitRepo, agentctl) -> None:
    repo.write("x/a.tf", PRIVATE_ACL)
    repo.commit()
    repo.write("x/a.tf", PUBLIC_ACL)
    repo.write("y/sg.tf", OPEN_SG)
    result = agentctl("check", "--diff", "HEAD", "--format", "json", "y", cwd=repo.root)
    assert rules(result.stdout) == ["aws-security-group-admin-port-open"]


def test_policies_added_by_the_change_do_not_judge_it(repo: GitRepo, agentctl) -> None:
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit()
    repo.write(
        "policies/p.yaml",
        "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata: {name: p}\nrules:\n"
        "  - {id: everything, title: t, severity: critical, action: deny, target: terraform,"
        " condition: 'true', message: m}\n",
    )
    repo.write("a.tf", PRIVATE_ACL.replace('"a"', '"b"'))
    repo.commit()
    result = agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root)
    assert rules(result.stdout) == ["policy-file-changed"]
    assert result.code == 3
