"""Rules that look at other resources of the configuration: ``related(type)``, ``refers_to``, ``module``.

Driven through the installed ``agentctl`` on real git repositories, with the
built-in ``aws-s3-no-public-access-block`` rule as the user meets it.
"""

from __future__ import annotations

import json

from agentctl.engine.related import RelatedIndex, refers_to, split_address
from tests.conftest import GitRepo

RULE = "aws-s3-no-public-access-block"

BLOCK = """
resource "aws_s3_bucket_public_access_block" "{name}" {{
  bucket                  = {bucket}
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}
"""


def block(name: str, bucket: str) -> str:
    return BLOCK.format(name=name, bucket=bucket)


def flagged(agentctl, repo: GitRepo, *args: str) -> list[str]:
    result = agentctl("check", "--format", "json", *args, cwd=repo.root)
    assert "Traceback" not in result.stderr, result.stderr
    findings = json.loads(result.stdout)["findings"]
    return sorted(f["address"] for f in findings if f["rule_id"] == RULE and f["status"] == "open")


def test_addresses_split_into_module_and_local_reference() -> None:
    assert split_address('module.a["x.y"].module.b.aws_s3_bucket.c[0]') == (
        'module.a["x.y"].module.b.',
        "aws_s3_bucket.c",
    )
    assert split_address("data.aws_iam_policy_document.p") == ("", "data.aws_iam_policy_document.p")
    assert split_address('module.m.data.aws_ami.u["k"]') == ("module.m.", "data.aws_ami.u")


def test_refers_to_reads_only_unknown_references_to_that_resource() -> None:
    assert refers_to("${aws_s3_bucket.c[count.index].id}", "module.m.aws_s3_bucket.c[1]")
    assert refers_to({"a": ["${${aws_s3_bucket.c.arn}/*}"]}, "aws_s3_bucket.c")
    assert not refers_to("${aws_s3_bucket.cc.id}", "aws_s3_bucket.c")
    assert not refers_to("${data.aws_s3_bucket.c.id}", "aws_s3_bucket.c")
    assert not refers_to("aws_s3_bucket.c", "aws_s3_bucket.c")  # a literal string refers to nothing


def test_related_lists_the_same_configuration_only_and_leaves_itself_out() -> None:
    index = RelatedIndex(
        [
            ("tf:app:aws_s3_bucket.a", "aws_s3_bucket", "aws_s3_bucket.a", {"bucket": "a"}),
            ("tf:app:module.m.aws_s3_bucket.b", "aws_s3_bucket", "module.m.aws_s3_bucket.b", {}),
            ("tf:other:aws_s3_bucket.c", "aws_s3_bucket", "aws_s3_bucket.c", {}),
        ]
    )
    found = index.of("tf:app:aws_s3_bucket.a", "aws_s3_bucket.a", "aws_s3_bucket")
    assert found == [
        {"type": "aws_s3_bucket", "address": "module.m.aws_s3_bucket.b", "module": "module.m.", "resource": {}}
    ]


def test_bucket_in_a_module_is_paired_with_the_block_of_its_own_module(repo: GitRepo, agentctl) -> None:
    repo.write("main.tf", 'module "covered" {\n  source = "./covered"\n}\nmodule "bare" {\n  source = "./bare"\n}\n')
    repo.write(
        "covered/main.tf",
        'resource "aws_s3_bucket" "this" {\n  bucket = "c"\n}\n' + block("this", "aws_s3_bucket.this.id"),
    )
    # Same local name, other module: the block of module.covered does not cover it.
    repo.write("bare/main.tf", 'resource "aws_s3_bucket" "this" {\n  bucket = "b"\n}\n')
    assert flagged(agentctl, repo, ".") == ["module.bare.aws_s3_bucket.this"]


def test_block_in_the_caller_fed_by_a_module_output_counts(repo: GitRepo, agentctl) -> None:
    repo.write(
        "main.tf",
        'module "store" {\n  source = "./store"\n}\n' + block("store", "module.store.bucket_id"),
    )
    repo.write(
        "store/main.tf",
        'resource "aws_s3_bucket" "this" {\n  bucket = "s"\n}\n'
        'output "bucket_id" {\n  value = aws_s3_bucket.this.id\n}\n',
    )
    assert flagged(agentctl, repo, ".") == []


def test_removing_the_block_is_seen_on_the_next_scan_despite_the_result_cache(repo: GitRepo, agentctl) -> None:
    bucket = 'resource "aws_s3_bucket" "logs" {\n  bucket = "l"\n}\n'
    repo.write("bucket.tf", bucket)
    repo.write("block.tf", block("logs", "aws_s3_bucket.logs.id"))
    assert flagged(agentctl, repo, ".") == []
    repo.remove("block.tf")  # the bucket's own block is unchanged: only its neighbour went
    assert flagged(agentctl, repo, ".") == ["aws_s3_bucket.logs"]


def test_diff_judges_new_buckets_only(repo: GitRepo, agentctl) -> None:
    repo.write("old.tf", 'resource "aws_s3_bucket" "old" {\n  bucket = "o"\n}\n')
    repo.commit("base")
    repo.write("new.tf", 'resource "aws_s3_bucket" "new" {\n  bucket = "n"\n}\n')
    assert flagged(agentctl, repo, "--diff", "HEAD") == ["aws_s3_bucket.new"]
