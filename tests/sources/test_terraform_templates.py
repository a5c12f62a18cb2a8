"""Template directives (``%{ if }``, ``%{ for }``, ``~`` strip markers) and ``templatefile()``, as Terraform reads them.

Each expected value is also checked against ``terraform console`` (installed on
this machine; the test is skipped where it is not): what we compute is what
Terraform computes. What cannot be known (a condition only apply knows, a
template file that is not there, ``agentctl check`` without a file reader)
stays unknown: never a wrong value, never a finding because of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentctl.model.resource import is_unknown
from agentctl.sources.terraform import parse
from agentctl.sources.terraform.functions import FILE_READER

TEMPLATE = "%{ for i, n in names ~}\n${i}=${n}\n%{ endfor ~}\n%{ if on }yes%{ else }no%{ endif }\n"

CASES = [
    ('"%{ if true }p4d.24xlarge%{ endif }"', "p4d.24xlarge"),
    ('"%{ if false }p4d%{ else }m6i%{ endif }.large"', "m6i.large"),
    ('"%{ if true ~}  x  %{~ endif } y %{ for k, v in {b = 1, a = 2} }${k}${v}%{ endfor }"', "x y a2b1"),
    ('"%{ for i, n in ["a", "b"] }${i}=${n};%{ endfor }"', "0=a;1=b;"),
    ('"%{ for n in ["a", "b"] }%{ if n == "b" }[${n}]%{ endif }%{ endfor }"', "[b]"),
    ('templatefile("t.tpl", {names = ["a", "b"], on = false})', "0=a\n1=b\nno\n"),
    ('templatefile("t.tpl", {names = [], on = true})', "yes\n"),
]


@pytest.fixture
def template_dir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "t.tpl").write_text(TEMPLATE)

    def read(path: str) -> str | None:
        target = tmp_path / path
        return target.read_text() if target.is_file() else None

    token = FILE_READER.set(read)
    try:
        yield tmp_path
    finally:
        FILE_READER.reset(token)


def value(expression: str) -> Any:
    parsed = parse("main.tf", f'resource "aws_instance" "a" {{\n  v = {expression}\n}}\n')
    assert not parsed.issues, parsed.issues
    return parsed.resources[0].attributes["v"]


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_directives_and_templatefile_are_carried_out(template_dir: Path, expression: str, expected: str) -> None:
    assert value(expression) == expected


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_console_agrees(template_dir: Path) -> None:
    env = {**os.environ, "HOME": str(template_dir), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    for expression, expected in CASES:  # one console each: it prints only the last value it is given
        proc = subprocess.run(
            ["terraform", "console"],
            input=f"jsonencode({expression})\n",
            cwd=template_dir,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=True,
        )
        printed = [json.loads(json.loads(line)) for line in proc.stdout.splitlines() if line.startswith('"')]
        assert printed == [expected], (expression, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    "expression",
    [
        '"%{ if data.aws_ssm_parameter.gpu.value }p4d.24xlarge%{ endif }"',  # a condition only apply knows
        '"%{ for n in data.x.y.names }${n}%{ endfor }"',
        '"%{ if true }unclosed"',
        'templatefile("missing.tpl", {})',
        'templatefile("t.tpl", {names = data.x.y.names, on = true})',
    ],
)
def test_what_cannot_be_known_stays_unknown(template_dir: Path, expression: str) -> None:
    assert is_unknown(value(expression))


def test_without_a_file_reader_templatefile_stays_unknown() -> None:
    """``agentctl check`` reads no files for ``file()``/``templatefile()``: the value is unknown, not empty."""
    assert is_unknown(value('templatefile("t.tpl", {names = [], on = true})'))


def test_a_template_file_cannot_call_templatefile(template_dir: Path) -> None:
    (template_dir / "self.tpl").write_text('${templatefile("self.tpl", {})}')
    assert is_unknown(value('templatefile("self.tpl", {})'))
