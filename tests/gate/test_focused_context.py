"""An edit of resource blocks that read ``var.``/``local.``/``module.`` values, judged by those blocks alone.

The gate judges such an edit in its module's context (variables in another
file, ``terraform.tfvars``, locals, a child module's outputs). For speed it
instantiates only the blocks whose text differs and reads the written file
with the other resource blocks blanked out (``gate/tffocus.py``). The oracle
is the gate itself with that shortcut switched off (the whole module
evaluated before and after): every case must get the same decision, the same
rules and the same problems from both, in a real git repository.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentctl.gate import tfmodule
from agentctl.gate.decide import Decision, Gatekeeper, load_book
from tests.gate.test_preview import edit

STAGE = "envs/stage"
VARIABLES = """variable "env" {
  type = string
}

variable "instance_type" {
  default = "t3.micro"
}

variable "gpu_type" {
  default = "p4d.24xlarge"
}

variable "large_type" {
  default = "m6i.2xlarge"
}
"""
TFVARS = 'env = "stage"\ninstance_type = "m6i.large"\n'
LOCALS = 'locals {\n  prefix = "${var.env}-app"\n  tags = { Env = var.env }\n}\n'
CALL = 'module "network" {\n  source = "../../modules/network"\n  name   = local.prefix\n}\n'
NETWORK = (
    'variable "name" {}\n'
    'resource "aws_vpc" "this" {\n  cidr_block = "10.0.0.0/16"\n  tags = { Name = var.name }\n}\n'
    'output "subnet_id" {\n  value = aws_vpc.this.id\n}\n'
)


def web(i: int, extra: str = "") -> str:
    return (
        f'resource "aws_instance" "web{i}" {{\n'
        f'  ami           = "ami-1"\n'
        f"  instance_type = var.instance_type\n"
        f"  subnet_id     = module.network.subnet_id\n"
        f'  tags          = merge(local.tags, {{ Name = "${{local.prefix}}-{i}" }})\n'
        f"{extra}}}\n\n"
    )


BIG = "".join(web(i) for i in range(60))
SUPPRESSED = '# agentctl:ignore=gpu-instance-outside-production reason="training box"\n'
WEB3 = 'resource "aws_instance" "web3" {\n  ami           = "ami-1"\n  instance_type = var.instance_type\n'


def typed(value: str) -> str:
    """``web3``'s opening lines with another instance type."""
    return WEB3.replace("= var.instance_type", f"= {value}")


PARSE_ERROR = 'resource "aws_instance" "broken" {\n  ami = \n}\n\n'

# (id, big.tf as committed, the edit (old, new), expected decision ("": the oracle's), a rule or reason expected)
CASES: list[tuple[str, str, tuple[str, str], str, str | None]] = [
    ("literal-gpu", BIG, (WEB3, typed('"p4d.24xlarge"')), "deny", "gpu-instance-outside-production"),
    ("variable-gpu", BIG, (WEB3, typed("var.gpu_type")), "deny", "gpu-instance-outside-production"),
    ("variable-cpu", BIG, (WEB3, typed("var.large_type")), "allow", None),
    ("count-100", BIG, (WEB3, WEB3 + "  count         = 100\n"), "deny", "scale-jump"),
    ("new-block", BIG, (WEB3, web(1000).replace("var.instance_type", "var.gpu_type") + WEB3), "deny", None),
    ("removed-block", BIG, (web(3), ""), "allow", None),
    ("duplicate-address", BIG, (WEB3, web(7) + WEB3), "", None),  # as the whole module says
    ("syntax-error-in-edit", BIG, (WEB3, WEB3 + "  monitoring = \n"), "deny", "invalid HCL"),
    (
        "suppressed-below-a-line-shift",
        web(900) + SUPPRESSED + web(901).replace("var.instance_type", "var.gpu_type") + BIG,
        (
            "  instance_type = var.instance_type\n  subnet_id     = module.network.subnet_id\n  tags          = merge"
            '(local.tags, { Name = "${local.prefix}-900" })\n',
            "  instance_type = var.instance_type\n\n  subnet_id     = module.network.subnet_id\n  tags          = merge"
            '(local.tags, { Name = "${local.prefix}-0" })\n',
        ),
        "allow",
        None,
    ),
    ("malformed-block-elsewhere", PARSE_ERROR + BIG, (WEB3, typed("var.large_type")), "deny", "invalid HCL"),
    ("locals-edit", BIG + LOCALS.replace("locals", "locals ", 1), (WEB3, typed("var.large_type")), "allow", None),
]


def _repo(root: Path, big: str) -> None:
    files = {
        f"{STAGE}/variables.tf": VARIABLES,
        f"{STAGE}/terraform.tfvars": TFVARS,
        f"{STAGE}/locals.tf": LOCALS,
        f"{STAGE}/main.tf": CALL,
        f"{STAGE}/big.tf": big,
        "modules/network/main.tf": NETWORK,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "commit.gpgsign=false", "commit", "-qm", "base"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True)


def _decide(root: Path, old: str, new: str) -> Decision:
    payload: dict[str, Any] = json.loads(json.dumps(edit(str(root / STAGE / "big.tf"), old, new)))
    payload["cwd"] = str(root)
    return Gatekeeper(root, load_book(root, [])).decide(payload, "claude")


@pytest.fixture
def focused_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Records whether each focused evaluation answered (True) or sent the write to the whole module (False)."""
    calls: list[bool] = []
    original = tfmodule.ModuleEvaluator.focused

    def spy(self: tfmodule.ModuleEvaluator, *args: Any) -> Any:
        found = original(self, *args)
        calls.append(found is not None)
        return found

    monkeypatch.setattr(tfmodule.ModuleEvaluator, "focused", spy)
    yield calls


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_focused_judgement_matches_the_whole_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, focused_calls: list[bool], case: tuple[Any, ...]
) -> None:
    case_id, big, (old, new), expected, rule = case
    _repo(tmp_path, big)
    assert old in big, case_id
    fast = _decide(tmp_path, old, new)
    assert fast.decision == expected or not expected, fast.reason
    if rule is not None:
        assert rule in fast.reason or rule in {f.rule_id for f in fast.findings}, fast.reason

    monkeypatch.setattr(tfmodule.ModuleEvaluator, "focused", lambda self, *args: None)
    whole = _decide(tmp_path, old, new)
    assert (whole.decision, whole.reason) == (fast.decision, fast.reason)
    assert sorted((f.rule_id, f.message) for f in whole.findings) == sorted(
        (f.rule_id, f.message) for f in fast.findings
    )


def test_an_edit_of_one_var_reading_block_takes_the_focused_path(tmp_path: Path, focused_calls: list[bool]) -> None:
    """The speed of a 250 KB edit rests on this path being taken (bench/gate_bench.py measures it)."""
    _repo(tmp_path, BIG)
    assert _decide(tmp_path, WEB3, typed('"p4d.24xlarge"')).decision == "deny"
    assert _decide(tmp_path, WEB3, typed("var.large_type")).decision == "allow"
    assert focused_calls == [True, True]


def test_a_file_that_does_not_parse_is_never_judged_by_its_blocks(tmp_path: Path, focused_calls: list[bool]) -> None:
    _repo(tmp_path, PARSE_ERROR + BIG)
    decision = _decide(tmp_path, WEB3, typed("var.large_type"))
    assert decision.decision == "deny" and "big.tf:2" in decision.reason, decision.reason
    assert focused_calls == [False]


def test_a_reused_evaluation_follows_the_files_it_read(tmp_path: Path) -> None:
    """Evaluations are reused across calls; a value read with ``file()`` that changed on disk is read again.

    After ``type.txt`` turns into a GPU type, an edit of the AMI does not make the GPU: the instance had it
    before the edit as well (judged against a stale "before", the GPU would look new and be denied).
    """
    main = (
        'resource "aws_instance" "web" {\n  ami = "ami-1"\n'
        '  instance_type = trimspace(file("${path.module}/type.txt"))\n}\n'
    )
    (tmp_path / STAGE).mkdir(parents=True)
    (tmp_path / STAGE / "main.tf").write_text(main)
    (tmp_path / STAGE / "type.txt").write_text("m6i.large\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "commit.gpgsign=false", "commit", "-qm", "base"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=tmp_path, check=True)
    gate = Gatekeeper(tmp_path, load_book(tmp_path, []))

    def decide(ami: str) -> Decision:
        call = edit(str(tmp_path / STAGE / "main.tf"), '  ami = "ami-1"\n', f'  ami = "{ami}"\n')
        payload: dict[str, Any] = {**json.loads(json.dumps(call)), "cwd": str(tmp_path)}
        return gate.decide(payload, "claude")

    assert decide("ami-2").decision == "allow"
    (tmp_path / STAGE / "type.txt").write_text("p4d.24xlarge\n")
    decision = decide("ami-3")
    assert decision.decision == "allow", decision.reason
