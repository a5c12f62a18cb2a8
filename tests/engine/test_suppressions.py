"""Inline suppressions: reason required, expiry honoured, new ones flagged."""

from __future__ import annotations

import json

from tests.conftest import GitRepo

PUBLIC_ACL = """\
resource "aws_s3_bucket_acl" "site" {
  # agentctl:ignore=aws-s3-public-acl SUPPRESSION
  bucket = "www.example.com"
  acl    = "public-read"
}
"""


def check(agentctl, repo: GitRepo, *args: str) -> tuple[int, list[dict]]:
    result = agentctl("check", "--format", "json", *args, cwd=repo.root)
    assert "Traceback" not in result.stderr
    return result.code, json.loads(result.stdout)["findings"]


def by_rule(findings: list[dict], rule_id: str) -> list[dict]:
    return [f for f in findings if f["rule_id"] == rule_id]


def test_suppression_with_reason_applies(repo: GitRepo, agentctl) -> None:
    repo.write("site.tf", PUBLIC_ACL.replace("SUPPRESSION", 'reason="static website" until=2999-01-01'))
    code, findings = check(agentctl, repo, ".")
    [finding] = by_rule(findings, "aws-s3-public-acl")
    assert finding["status"] == "suppressed"
    assert finding["suppression_reason"] == "static website"
    assert code == 0


def test_suppression_without_reason_is_invalid_and_not_applied(repo: GitRepo, agentctl) -> None:
    repo.write("site.tf", PUBLIC_ACL.replace("SUPPRESSION", ""))
    code, findings = check(agentctl, repo, ".")
    assert by_rule(findings, "aws-s3-public-acl")[0]["status"] == "open"
    [invalid] = by_rule(findings, "invalid-suppression")
    assert invalid["start_line"] == 2
    assert code == 1


def test_expired_suppression_no_longer_suppresses(repo: GitRepo, agentctl) -> None:
    repo.write("site.tf", PUBLIC_ACL.replace("SUPPRESSION", 'reason="launch week" until=2020-01-31'))
    code, findings = check(agentctl, repo, ".")
    assert by_rule(findings, "aws-s3-public-acl")[0]["status"] == "open"
    assert "expired on 2020-01-31" in by_rule(findings, "expired-suppression")[0]["message"]
    assert code == 1


def test_suppression_added_by_the_change_is_flagged_for_approval(repo: GitRepo, agentctl) -> None:
    repo.write(
        "site.tf", 'resource "aws_s3_bucket_acl" "site" {\n  bucket = "www.example.com"\n  acl    = "private"\n}\n'
    )
    repo.commit("base")
    repo.write("site.tf", PUBLIC_ACL.replace("SUPPRESSION", 'reason="trust me"'))
    repo.commit("agent opens the bucket and silences the rule")
    code, findings = check(agentctl, repo, "--diff", "HEAD~1..HEAD")
    assert by_rule(findings, "aws-s3-public-acl")[0]["status"] == "suppressed"
    [added] = by_rule(findings, "suppression-added")
    assert added["action"] == "require_approval"
    assert added["start_line"] == 2
    assert code == 3  # nothing blocks, but a human must approve


def test_suppression_already_at_base_is_not_flagged_again(repo: GitRepo, agentctl) -> None:
    repo.write("site.tf", PUBLIC_ACL.replace("SUPPRESSION", 'reason="static website"'))
    repo.commit("base")
    repo.write("site.tf", PUBLIC_ACL.replace("SUPPRESSION", 'reason="static website"').replace("www.", "web."))
    repo.commit("rename bucket")
    code, findings = check(agentctl, repo, "--diff", "HEAD~1..HEAD")
    assert not by_rule(findings, "suppression-added")
    assert code == 0
