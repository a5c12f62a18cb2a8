"""Hostile and broken input: a finding or a one-line error, never a traceback.

Each case drives the installed binary, as a user or CI would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import GitRepo


def findings(stdout: str) -> list[dict]:
    return json.loads(stdout)["findings"]


def assert_no_traceback(result) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def test_malformed_hcl_is_a_parse_error_with_line(tmp_path: Path, agentctl) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_instance" "a" {\n  ami = "x"\n  tags = {\n}\n')
    result = agentctl("check", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert_no_traceback(result)
    [finding] = [f for f in findings(result.stdout) if f["rule_id"] == "parse-error"]
    assert finding["path"] == "main.tf"
    assert finding["start_line"] >= 1
    assert result.code == 1  # parse errors are high severity: unjudgeable input blocks


def test_malformed_yaml_is_a_parse_error_with_line(tmp_path: Path, agentctl) -> None:
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a, b\nspec: {}\n")
    result = agentctl("check", "--format", "json", ".", cwd=tmp_path)
    assert_no_traceback(result)
    [finding] = [f for f in findings(result.stdout) if f["rule_id"] == "parse-error"]
    assert finding["path"] == "pod.yaml"
    assert finding["start_line"] == 5


def test_billion_laughs_is_refused_quickly(tmp_path: Path, agentctl) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    (tmp_path / "bomb.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n" + "\n".join(lines) + "\n")
    result = agentctl("check", "--format", "json", ".", cwd=tmp_path, timeout=30)
    assert_no_traceback(result)
    [finding] = [f for f in findings(result.stdout) if f["rule_id"] == "parse-error"]
    assert "alias bomb" in finding["message"]


def test_fifty_megabyte_file_is_reported_not_parsed(tmp_path: Path, agentctl) -> None:
    with open(tmp_path / "huge.tf", "w") as handle:
        block = 'resource "null_resource" "r%d" {}\n'
        for i in range(1_700_000):
            handle.write(block % i)
    assert (tmp_path / "huge.tf").stat().st_size > 50_000_000
    result = agentctl("check", "--format", "json", ".", cwd=tmp_path, timeout=60)
    assert_no_traceback(result)
    [finding] = [f for f in findings(result.stdout) if f["rule_id"] == "file-too-large"]
    assert finding["path"] == "huge.tf"


def test_binary_file_named_tf(tmp_path: Path, agentctl) -> None:
    (tmp_path / "evil.tf").write_bytes(os.urandom(4096) + b"\0\0\0")
    result = agentctl("check", "--format", "json", ".", cwd=tmp_path)
    assert_no_traceback(result)
    assert [f["rule_id"] for f in findings(result.stdout)] == ["binary-file"]


def test_invalid_utf8_names_the_line(tmp_path: Path, agentctl) -> None:
    (tmp_path / "main.tf").write_bytes(b'resource "a" "b" {\n  x = "ok"\n  y = "\xff\xfe"\n}\n')
    result = agentctl("check", "--format", "json", ".", cwd=tmp_path)
    assert_no_traceback(result)
    [finding] = findings(result.stdout)
    assert finding["rule_id"] == "invalid-encoding"
    assert finding["start_line"] == 3


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 10_000 + "]" * 10_000 + "\n"),
        ("deep.tf", 'resource "a" "b" {\n  x = ' + "[" * 10_000 + "]" * 10_000 + "\n}\n"),
        ("deep.json", '{"format_version": "1.0", "resource_changes": ' + "[" * 10_000 + "]" * 10_000 + "}"),
    ],
)
def test_ten_thousand_deep_nesting(tmp_path: Path, agentctl, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    result = agentctl("check", "--format", "json", ".", cwd=tmp_path, timeout=60)
    assert_no_traceback(result)
    [finding] = findings(result.stdout)
    assert finding["rule_id"] == "parse-error"
    assert "deep" in finding["message"]


def test_symlink_out_of_the_repository_is_not_followed(repo: GitRepo, tmp_path: Path, agentctl) -> None:
    secret = tmp_path / "outside.tf"
    secret.write_text('resource "aws_s3_bucket_acl" "x" {\n  acl = "public-read"\n}\n')
    repo.write("ok.tf", 'resource "null_resource" "n" {}\n')
    (repo.root / "link.tf").symlink_to(secret)
    result = agentctl("check", "--format", "json", ".", cwd=repo.root)
    assert_no_traceback(result)
    rules = [(f["rule_id"], f["path"]) for f in findings(result.stdout)]
    assert rules == [("symlink-outside-repo", "link.tf")]  # the outside file's ACL was never read


def test_symlink_committed_to_git_is_not_followed_in_diff_mode(repo: GitRepo, tmp_path: Path, agentctl) -> None:
    outside = tmp_path / "outside.tf"
    outside.write_text('resource "aws_s3_bucket_acl" "x" {\n  acl = "public-read"\n}\n')
    repo.write("ok.tf", 'resource "null_resource" "n" {}\n')
    repo.commit("base")
    (repo.root / "link.tf").symlink_to(outside)
    repo.commit("add link")
    result = agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root)
    assert_no_traceback(result)
    assert [f["rule_id"] for f in findings(result.stdout)] == ["symlink-outside-repo"]


def test_unknown_git_ref_is_exit_2_with_hint(repo: GitRepo, agentctl) -> None:
    repo.write("a.tf", "")
    repo.commit()
    result = agentctl("check", "--diff", "no-such-branch", cwd=repo.root)
    assert result.code == 2
    assert_no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "agentctl: error: unknown git ref 'no-such-branch'"
    assert lines[1].startswith("hint: ")


def test_diff_outside_git_is_exit_2(tmp_path: Path, agentctl) -> None:
    result = agentctl("check", "--diff", "HEAD", cwd=tmp_path)
    assert result.code == 2
    assert "not inside a git repository" in result.stderr


def test_broken_policy_file_names_file_line_and_field(tmp_path: Path, agentctl) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "team.yaml").write_text(
        "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata:\n  name: team\nrules:\n"
        "  - id: ok-rule\n    title: t\n    severity: high\n    action: deny\n    target: terraform\n"
        "    condition: 'true'\n    message: m\n"
        "  - id: bad-rule\n    title: t\n    severity: hgh\n    action: deny\n    target: terraform\n"
        "    condition: 'true'\n    message: m\n"
    )
    result = agentctl("check", ".", cwd=tmp_path)
    assert result.code == 2
    assert_no_traceback(result)
    first = result.stderr.splitlines()[0]
    assert "policies/team.yaml:15" in first
    assert "rules[1].severity" in first
    assert "hgh" in first


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("    colour: red\n", "unknown field 'colour'"),
        ("    condition: 'resource.(('\n", "CEL syntax error"),
    ],
)
def test_policy_typos_and_cel_errors_are_exit_2(tmp_path: Path, agentctl, snippet: str, expected: str) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    base = (
        "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata:\n  name: team\nrules:\n"
        "  - id: some-rule\n    title: t\n    severity: high\n    action: deny\n    target: terraform\n"
        "    message: m\n"
    )
    if "condition" not in snippet:
        snippet += "    condition: 'true'\n"
    (policies / "p.yaml").write_text(base + snippet)
    result = agentctl("check", ".", cwd=tmp_path)
    assert result.code == 2, result.stderr
    assert expected in result.stderr
    assert "policies/p.yaml:" in result.stderr
    assert_no_traceback(result)


def test_duplicate_rule_ids_are_refused(tmp_path: Path, agentctl) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    rule = (
        "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata:\n  name: {name}\nrules:\n"
        "  - id: same-id\n    title: {name}\n    severity: high\n    action: deny\n    target: terraform\n"
        "    condition: 'true'\n    message: m\n"
    )
    (policies / "a.yaml").write_text(rule.format(name="a"))
    (policies / "b.yaml").write_text(rule.format(name="b"))
    result = agentctl("check", ".", cwd=tmp_path)
    assert result.code == 2
    assert "duplicate rule id 'same-id'" in result.stderr


def test_rule_failing_at_evaluation_is_a_finding_not_a_crash(tmp_path: Path, agentctl) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(
        "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata:\n  name: team\nrules:\n"
        "  - id: needs-missing-field\n    title: t\n    severity: high\n    action: deny\n    target: terraform\n"
        "    condition: resource.no_such_field > 3\n    message: m\n"
    )
    (tmp_path / "main.tf").write_text('resource "null_resource" "n" {\n  triggers = {}\n}\n')
    result = agentctl("check", "--no-builtin", "--format", "json", ".", cwd=tmp_path)
    assert_no_traceback(result)
    [finding] = findings(result.stdout)
    assert finding["rule_id"] == "rule-error"
    assert "needs-missing-field" in finding["message"]
    assert result.code == 0  # medium severity below the default fail-on


def test_bad_flags_are_exit_2(tmp_path: Path, agentctl) -> None:
    assert agentctl("check", "--fail-on", "severe", cwd=tmp_path).code == 2
    bad_format = agentctl("check", "--format", "pdf", cwd=tmp_path)
    assert bad_format.code == 2
    assert "unknown format 'pdf'" in bad_format.stderr
    assert agentctl("check", "--no-such-flag", cwd=tmp_path).code == 2
    assert agentctl("check", "missing-dir", cwd=tmp_path).code == 2
