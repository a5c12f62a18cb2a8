"""The built-in pack's parsed rules are cached between runs: same rules, written only on a miss."""

from __future__ import annotations

import json
from pathlib import Path

from agentctl.policy import loader
from agentctl.policy.loader import PolicySetFile
from tests.conftest import GitRepo

PUBLIC_ACL = 'resource "aws_s3_bucket_acl" "a" {\n  acl = "public-read"\n}\n'


def test_a_book_from_the_cache_equals_the_parsed_one(tmp_path: Path) -> None:
    files = loader.builtin_files()
    parsed = loader.build(files)
    first = loader.build(files, cache_dir=tmp_path)
    [cache_file] = list(tmp_path.iterdir())
    written = cache_file.stat().st_mtime_ns
    second = loader.build(files, cache_dir=tmp_path)
    assert cache_file.stat().st_mtime_ns == written  # a hit writes nothing
    for book in (first, second):
        assert [r.loaded for r in book.rules] == [r.loaded for r in parsed.rules]
        assert (book.digest, book.files, book.allow_tools) == (parsed.digest, parsed.files, parsed.allow_tools)
        assert [r.reads_related for r in book.rules] == [r.reads_related for r in parsed.rules]


def test_a_changed_pack_or_a_broken_cache_file_is_a_miss(tmp_path: Path) -> None:
    files = loader.builtin_files()
    loader.build(files, cache_dir=tmp_path)
    [cache_file] = list(tmp_path.iterdir())
    cache_file.write_text("{not json")
    book = loader.build(files, cache_dir=tmp_path)
    assert len(book.rules) == len(loader.build(files).rules)
    assert json.loads(cache_file.read_text())  # rewritten whole
    changed = [PolicySetFile(f.source, f.text.replace("severity: high", "severity: low", 1)) for f in files]
    book = loader.build(changed, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2  # another text, another file
    assert [r.rule.severity for r in book.rules] == [r.rule.severity for r in loader.build(changed).rules]


def test_check_keeps_its_rules_with_a_broken_or_missing_cache(repo: GitRepo, agentctl, tmp_path: Path) -> None:
    repo.write("a.tf", 'resource "aws_s3_bucket_acl" "a" {\n  acl = "private"\n}\n')
    repo.commit()
    repo.write("a.tf", PUBLIC_ACL)
    repo.commit()
    cache = tmp_path / "cache"
    env = {"AGENTCTL_CACHE_DIR": str(cache / "parse")}
    runs = [agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root, env=env)]
    [cache_file] = list((cache / "policy").iterdir())
    cache_file.write_text(json.dumps({"builtin:kubernetes.yaml": {"rules": [], "allow_tools": []}}))
    runs.append(agentctl("check", "--diff", "HEAD~1..HEAD", "--format", "json", cwd=repo.root, env=env))
    untouched = {"AGENTCTL_CACHE_DIR": str(tmp_path / "unused" / "parse")}
    runs.append(agentctl("check", "--no-cache", "--diff", "HEAD~1..HEAD", "-f", "json", cwd=repo.root, env=untouched))
    assert not (tmp_path / "unused").exists()
    reports = [json.loads(result.stdout) for result in runs]
    assert [result.code for result in runs] == [1, 1, 1]
    assert all([f["rule_id"] for f in r["findings"]] == ["aws-s3-public-acl"] for r in reports)
    assert len({r["summary"]["rules_loaded"] for r in reports}) == 1
    assert reports[0]["summary"]["rules_loaded"] > 90
