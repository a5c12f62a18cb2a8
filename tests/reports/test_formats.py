"""Every output format: exhaustive registry, schema-valid SARIF, parseable JUnit,
GitLab Code Quality fields, escaped GitHub commands, a readable PR comment."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from agentctl.reports.base import Format, Formatter
from agentctl.reports.registry import FORMATTERS, formatter_class
from tests.conftest import REPO_ROOT, GitRepo

SARIF_SCHEMA = json.loads((REPO_ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json").read_text())
CHECK_SCHEMA = json.loads((REPO_ROOT / "docs" / "schemas" / "check-result.v1.json").read_text())

MIXED = """\
resource "aws_s3_bucket_acl" "open" {
  acl = "public-read"
}

resource "aws_kms_key" "k" {
  description = "no rotation, 100% sure: yes, really"
}

resource "aws_instance" "gpu" {
  instance_type = "g5.xlarge"
}

resource "aws_s3_bucket_acl" "muted" {
  # agentctl:ignore=aws-s3-public-acl reason="public website" until=2999-12-31
  acl = "public-read"
}
"""


@pytest.fixture
def project(repo: GitRepo) -> GitRepo:
    repo.write("envs/dev/main.tf", MIXED)
    repo.write("charts/templates/x.yaml", "kind: {{ .Values.kind }}\n")
    return repo


def test_every_format_has_a_formatter() -> None:
    assert set(FORMATTERS) == set(Format)
    for fmt in Format:
        assert issubclass(formatter_class(fmt), Formatter), fmt


def test_json_is_versioned_and_matches_its_schema(project: GitRepo, agentctl) -> None:
    result = agentctl("check", "--format", "json", cwd=project.root)
    report = json.loads(result.stdout)
    jsonschema.validate(report, CHECK_SCHEMA)
    assert report["schema"] == "agentctl/check-result" and report["version"] == 1
    assert report["exit_code"] == result.code == 1
    outcomes = {f["rule_id"] + ":" + (f["address"] or ""): f["outcome"] for f in report["findings"]}
    assert outcomes["aws-s3-public-acl:aws_s3_bucket_acl.open"] == "blocking"
    assert outcomes["aws-s3-public-acl:aws_s3_bucket_acl.muted"] == "suppressed"
    assert outcomes["gpu-instance-outside-production:aws_instance.gpu"] == "approval"
    assert outcomes["aws-kms-key-rotation-disabled:aws_kms_key.k"] == "warning"
    assert report["notes"][0]["path"] == "charts/templates/x.yaml"


def test_sarif_validates_and_carries_suppressions(project: GitRepo, agentctl, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "out.sarif"
    result = agentctl("check", "--format", f"sarif={target}", cwd=project.root)
    assert result.code == 1
    assert "aws-s3-public-acl" in result.stdout  # the table still goes to stdout
    sarif = json.loads(target.read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["ruleId"].startswith("agentctl/")
    muted = [r for r in run["results"] if "suppressions" in r]
    assert muted and muted[0]["suppressions"][0]["justification"] == "public website"


def test_junit_parses_and_fails_for_blocking_and_approval(project: GitRepo, agentctl) -> None:
    result = agentctl("check", "--format", "junit", cwd=project.root)
    root = ET.fromstring(result.stdout)
    suite = root.find("testsuite")
    assert suite is not None
    failures = suite.findall("testcase/failure")
    types = sorted(f.get("type") or "" for f in failures)
    assert "approval_required" in types and "high" in types
    assert int(suite.get("failures", "0")) == len(failures)  # the overall "policy gate" case counts too
    assert suite.findall("testcase/skipped")


def test_gitlab_code_quality_fields(project: GitRepo, agentctl) -> None:
    result = agentctl("check", "--format", "gitlab", cwd=project.root)
    issues = json.loads(result.stdout)
    assert issues
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["path"] == "envs/dev/main.tf"
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert not any("muted" in i["description"] for i in issues)  # suppressed ones are left out


def test_github_commands_are_escaped(project: GitRepo, agentctl) -> None:
    result = agentctl("check", "--format", "github", cwd=project.root)
    lines = result.stdout.splitlines()
    error = next(line for line in lines if "aws-s3-public-acl" in line)
    assert error.startswith("::error file=envs/dev/main.tf,line=1,endLine=3,title=agentctl/aws-s3-public-acl%3A ")
    approval = next(line for line in lines if "gpu-instance" in line)
    assert approval.startswith("::warning ") and "(approval required)" in approval
    assert all("\n" not in line for line in lines)
    notice = next(line for line in lines if "kms" in line)
    assert notice.startswith("::notice ")


def test_markdown_comment(project: GitRepo, agentctl) -> None:
    result = agentctl("check", "--format", "markdown", cwd=project.root)
    text = result.stdout
    assert text.startswith("## agentctl check: ❌ blocked")
    assert "| ❌ block | high | `aws-s3-public-acl` | `aws_s3_bucket_acl.open` |" in text
    assert "<details><summary>Suppressed (1)</summary>" in text
    assert "<details><summary>Skipped files (1)</summary>" in text


def test_several_formats_in_one_run(project: GitRepo, agentctl, tmp_path: Path) -> None:
    result = agentctl(
        "check",
        "-f",
        "github",
        "-f",
        f"json={tmp_path / 'r.json'}",
        "-f",
        f"junit={tmp_path / 'r.xml'}",
        cwd=project.root,
    )
    assert result.stdout.startswith("::")
    assert json.loads((tmp_path / "r.json").read_text())["verdict"] == "blocked"
    ET.parse(tmp_path / "r.xml")


def test_two_formats_on_stdout_is_a_usage_error(project: GitRepo, agentctl) -> None:
    result = agentctl("check", "-f", "json", "-f", "sarif", cwd=project.root)
    assert result.code == 2
    assert "hint:" in result.stderr


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 3), ("high", 3), ("medium", 1), ("low", 1)])
def test_fail_on_threshold(repo: GitRepo, agentctl, fail_on: str, code: int) -> None:
    # a GPU instance (high, require_approval) and an unencrypted volume (medium, warn)
    repo.write(
        "main.tf",
        'resource "aws_instance" "gpu" {\n  instance_type = "g5.xlarge"\n}\n'
        'resource "aws_ebs_volume" "v" {\n  size = 1\n}\n',
    )
    result = agentctl("check", "--fail-on", fail_on, cwd=repo.root)
    # require_approval never blocks by severity; the warn blocks from its severity up
    assert result.code == code
