"""A block without ``count``/``for_each`` is one instance: giving it ``count = 100`` is a scale jump.

``agentctl check --diff`` on a real git repository, through the installed
binary. Terraform keeps the object of a resource that gains ``count`` as
instance ``[0]`` (an implied move), so the change is an update of that
instance, not a deletion; a resource given ``for_each``, or a module call given
``count``, has its instances created anew. Either way one instance became many,
and ``scale-jump`` asks for approval once per block.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import GitRepo, Result

INSTANCE = 'resource "aws_instance" "web" {\n  ami = "ami-1"\n  instance_type = "m6i.large"\n%s}\n'
DATABASE = (
    'resource "aws_db_instance" "db" {\n  engine = "postgres"\n  instance_class = "db.t3.micro"\n'
    "  storage_encrypted = true\n%s}\n"
)
MODULE = 'resource "aws_instance" "vm" {\n  ami = "ami-1"\n  instance_type = "m6i.large"\n}\n'
CALL = 'module "vm" {\n  source = "./modules/vm"\n%s}\n'
HUNDRED_KEYS = "  for_each = toset([for i in range(100) : tostring(i)])\n"


def _check(repo: GitRepo, agentctl: Callable[..., Result], before: dict[str, str], after: dict[str, str]) -> Any:
    for path, text in before.items():
        repo.write(path, text)
    repo.commit("base")
    for path, text in after.items():
        repo.write(path, text)
    repo.commit("change")
    result = agentctl("check", "--diff", "HEAD~1", "--format", "json", cwd=repo.root)
    assert "Traceback" not in result.stderr, result.stderr
    return result.code, json.loads(result.stdout)["findings"]


def _rules(findings: list[dict[str, Any]], rule: str) -> list[str]:
    return [f["message"] for f in findings if f["rule_id"] == rule]


@pytest.mark.parametrize(
    ("before", "after", "address"),
    [
        ({"main.tf": INSTANCE % ""}, {"main.tf": INSTANCE % "  count = 100\n"}, "aws_instance.web[0]"),
        ({"main.tf": INSTANCE % ""}, {"main.tf": INSTANCE % HUNDRED_KEYS}, 'aws_instance.web["0"]'),
        (
            {"modules/vm/main.tf": MODULE, "main.tf": CALL % ""},
            {"main.tf": CALL % "  count = 100\n"},
            "module.vm[0].aws_instance.vm",
        ),
        (
            {"modules/vm/main.tf": MODULE, "main.tf": CALL % ""},
            {"main.tf": CALL % '  for_each = { for i in range(60) : "n${i}" => i }\n'},
            'module.vm["n0"].aws_instance.vm',
        ),
    ],
    ids=["resource-count", "resource-for-each", "module-count", "module-for-each"],
)
def test_one_instance_made_many_needs_approval(
    repo: GitRepo, agentctl: Callable[..., Result], before: dict[str, str], after: dict[str, str], address: str
) -> None:
    code, findings = _check(repo, agentctl, before, after)
    jumps = _rules(findings, "scale-jump")
    assert len(jumps) == 1, jumps  # once per block, not once per instance
    assert jumps[0].startswith(f"{address} more than doubles: ") and "instances 1 -> " in jumps[0], jumps
    assert code != 0


def test_doubling_from_one_is_not_a_jump(repo: GitRepo, agentctl: Callable[..., Result]) -> None:
    _, findings = _check(repo, agentctl, {"main.tf": INSTANCE % ""}, {"main.tf": INSTANCE % "  count = 2\n"})
    assert _rules(findings, "scale-jump") == []


def test_a_count_jump_is_reported_as_before(repo: GitRepo, agentctl: Callable[..., Result]) -> None:
    _, findings = _check(
        repo, agentctl, {"main.tf": INSTANCE % "  count = 2\n"}, {"main.tf": INSTANCE % "  count = 10\n"}
    )
    assert sorted(_rules(findings, "scale-jump")) == [
        f"aws_instance.web[{i}] more than doubles: count 2 -> 10" for i in (0, 1)
    ]


def test_count_added_keeps_the_object_as_instance_zero(repo: GitRepo, agentctl: Callable[..., Result]) -> None:
    """Terraform moves ``aws_db_instance.db`` to ``aws_db_instance.db[0]``: nothing is deleted."""
    _, findings = _check(repo, agentctl, {"main.tf": DATABASE % ""}, {"main.tf": DATABASE % "  count = 1\n"})
    assert _rules(findings, "stateful-resource-deleted") == [], findings
    assert _rules(findings, "scale-jump") == []


def test_for_each_added_still_deletes_the_unkeyed_object(repo: GitRepo, agentctl: Callable[..., Result]) -> None:
    """Terraform has no implied move to a ``for_each`` key: the database is destroyed and created anew."""
    _, findings = _check(
        repo, agentctl, {"main.tf": DATABASE % ""}, {"main.tf": DATABASE % '  for_each = toset(["a"])\n'}
    )
    assert _rules(findings, "stateful-resource-deleted") == ["aws_db_instance.db is deleted, and its data with it"]


def test_count_taken_away_is_not_a_jump_and_keeps_instance_zero(repo: GitRepo, agentctl: Callable[..., Result]) -> None:
    _, findings = _check(repo, agentctl, {"main.tf": DATABASE % "  count = 1\n"}, {"main.tf": DATABASE % ""})
    assert _rules(findings, "scale-jump") == []
    assert _rules(findings, "stateful-resource-deleted") == [], findings


def test_reading_a_data_source_more_times_scales_nothing(repo: GitRepo, agentctl: Callable[..., Result]) -> None:
    data = 'data "aws_ami" "base" {\n  owners = ["amazon"]\n%s}\n'
    _, findings = _check(repo, agentctl, {"main.tf": data % ""}, {"main.tf": data % HUNDRED_KEYS})
    assert _rules(findings, "scale-jump") == []
