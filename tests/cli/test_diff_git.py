"""How ``check --diff`` talks to git: no command from the repository's config, no option-shaped refs, no symlinks."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import GitRepo

PUBLIC_ACL = 'resource "aws_s3_bucket_acl" "a" {\n  acl = "public-read"\n}\n'
PRIVATE_ACL = PUBLIC_ACL.replace("public-read", "private")


def rules(stdout: str) -> list[str]:
    return sorted(f["rule_id"] for f in json.loads(stdout)["findings"])


def test_a_fsmonitor_command_in_the_repository_config_never_runs(repo: GitRepo, agentctl, tmp_path: Path) -> None:
    """The agent can write ``.git/config``; agentctl's own git must not run what it names, in any diff mode."""
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit()
    repo.write("a.tf", PUBLIC_ACL)
    repo.commit()
    repo.write("b.tf", PUBLIC_ACL.replace('"a"', '"b"'))
    repo.git("add", "b.tf")
    marker = tmp_path / "fsmonitor-ran"
    with (repo.root / ".git" / "config").open("a") as config:  # after the test's own git calls
        config.write(f'[core]\n\tfsmonitor = "touch {marker}; false"\n')
    for args in (["--diff", "HEAD~1..HEAD"], ["--diff", "HEAD~1...HEAD"], ["--diff", "HEAD~1"], ["--staged"]):
        result = agentctl("check", *args, "--format", "json", cwd=repo.root)
        assert result.code == 1, (args, result.stderr)
        assert "aws-s3-public-acl" in rules(result.stdout)
    assert not marker.exists()


def test_an_option_shaped_ref_is_an_unknown_ref(repo: GitRepo, agentctl, tmp_path: Path) -> None:
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit()
    written = tmp_path / "written-by-git"
    for spec in (f"--output={written}", f"HEAD..--output={written}"):
        result = agentctl("check", f"--diff={spec}", cwd=repo.root)
        assert result.code == 2
        assert "unknown git ref '--output=" in result.stderr
        assert "Traceback" not in result.stderr
    assert not written.exists()


def test_a_committed_symlink_is_reported_and_not_followed(repo: GitRepo, agentctl, tmp_path: Path) -> None:
    outside = tmp_path / "outside.tf"
    outside.write_text(PUBLIC_ACL)
    repo.write("a.tf", PRIVATE_ACL)
    repo.commit()
    os.symlink(outside, repo.root / "link.tf")
    repo.commit()
    result = agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root)
    assert rules(result.stdout) == ["symlink-outside-repo"]
    assert "symlink in git; not followed" in result.stdout


def test_a_diff_reads_the_files_of_both_sides(repo: GitRepo, agentctl) -> None:
    """Many files on each side (read in batches): each side's own content is judged, with the context it needs."""
    for index in range(150):
        repo.write(f"mod/f{index:03}.tf", PRIVATE_ACL.replace('"a"', f'"a{index}"'))
    repo.commit()
    for index in (7, 70, 149):
        repo.write(f"mod/f{index:03}.tf", PUBLIC_ACL.replace('"a"', f'"a{index}"'))
    repo.commit()
    result = agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root)
    report = json.loads(result.stdout)
    assert sorted(f["address"] for f in report["findings"]) == [
        "aws_s3_bucket_acl.a149",
        "aws_s3_bucket_acl.a7",
        "aws_s3_bucket_acl.a70",
    ]
    assert result.code == 1
    back = agentctl("check", "--diff", "HEAD..HEAD~1", "--format", "json", cwd=repo.root)
    assert rules(back.stdout) == [] and back.code == 0
