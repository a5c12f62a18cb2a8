"""The compiled gate: ``AGENTCTL_COMPILE=1`` builds a wheel whose shell walk is mypyc C code, and that build
decides exactly as the pure-Python one does.

The wheel is built offline (``pip wheel --no-deps --no-build-isolation``, mypy from the test venv) from a copy of
this working tree, installed into a directory of its own, and the gate's whole test suite (``tests/gate``: every
case of cases.yaml in both payload shapes, the walk's own tests, hostile nesting) runs again with that directory
first on the path. A compiled module differs from its source in what it checks at run time (declared types) and
in what it lacks (a recursion limit: the walk keeps its own), so only running the suite on it shows it is right.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from bench import compiled as compiled_build

from tests.conftest import REPO_ROOT

GATE = REPO_ROOT / "src" / "agentctl" / "gate"
COMPILED = ["braces", *sorted(p.stem for p in GATE.glob("shell*.py"))]


pytestmark = pytest.mark.skipif(compiled_build.missing() is not None, reason=str(compiled_build.missing()))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the compiled wheel, the directory it is installed in)."""
    return compiled_build.build(tmp_path_factory.mktemp("compiled"))


def test_the_wheel_is_a_platform_wheel_with_the_walk_compiled(compiled: tuple[Path, Path]) -> None:
    wheel, _ = compiled
    assert "-cp3" in wheel.name and "py3-none-any" not in wheel.name, wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    for module in COMPILED:
        assert any(n.startswith(f"agentctl/gate/{module}.") and n.endswith(".so") for n in names), module
    assert not any(n.startswith("agentctl/gate/decide.") and n.endswith(".so") for n in names)  # only the walk


PROBE = "import agentctl.gate.shell as s, agentctl.gate.braces as b; print(s.COMPILED, s.__file__, b.__file__)"


def test_the_gate_suite_passes_on_the_compiled_walk(compiled: tuple[Path, Path]) -> None:
    _, target = compiled
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True,
    )  # fmt: skip
    compiled_flag, *paths = probe.stdout.split()
    assert compiled_flag == "True", probe.stdout
    assert all(path.endswith(".so") and path.startswith(str(target)) for path in paths), probe.stdout
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/gate", "-q", "-p", "no:cacheprovider", "-x"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=1800,
    )  # fmt: skip
    tail = suite.stdout[-3000:] + suite.stderr[-2000:]
    assert suite.returncode == 0, tail
    assert " passed" in suite.stdout and " failed" not in suite.stdout, tail
