"""With ``AGENTCTL_COMPILE=1``, a wheel build compiles the gate's shell walk with mypyc.

The compiled modules are the same Python source (``src/agentctl/gate/shell*.py``, ``braces.py``), built as C
extensions: the walk runs about 1.7 times faster (``python bench/shell_bench.py --compiled``). Without the
variable, or for an editable install (whose compiled modules would shadow every later edit of the source),
agentctl is pure Python. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
GATE = ROOT / "src" / "agentctl" / "gate"
COMPILED = [p.relative_to(ROOT).as_posix() for p in [GATE / "braces.py", *sorted(GATE.glob("shell*.py"))]]
"""The gate's shell walk: what every Bash call's decision spends its time in."""


def ext_modules() -> list[object]:
    if os.environ.get("AGENTCTL_COMPILE", "") != "1":
        return []
    if "editable_wheel" in sys.argv or "develop" in sys.argv:
        print("agentctl: AGENTCTL_COMPILE=1 is ignored for an editable install (use `pip install .`)", file=sys.stderr)
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        if not {"bdist_wheel", "build_ext", "build", "install"} & set(sys.argv):
            return []  # the build's requirements or metadata are being asked for: mypy comes with them
        sys.exit("agentctl: AGENTCTL_COMPILE=1 needs mypy in the build environment (pip install mypy==2.4.1)")
    return list(mypycify(COMPILED, opt_level="3"))


setup(ext_modules=ext_modules())
