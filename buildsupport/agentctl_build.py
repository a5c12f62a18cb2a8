"""The build backend: setuptools, plus mypy when the gate's shell walk is to be compiled.

``AGENTCTL_COMPILE=1 pip install .`` (and the release's platform wheels) compile the shell walk with mypyc
(see setup.py); that build needs mypy, so it is asked for here, and only then: every other build (editable
installs, the GitHub Action, pre-commit, the pure wheel) needs nothing more than setuptools.
"""

from __future__ import annotations

import os

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (every other hook, as setuptools has it)

MYPY = "mypy==2.4.1"
"""The mypy (mypyc) the compiled walk is built and tested with."""


def _compiling() -> bool:
    return os.environ.get("AGENTCTL_COMPILE", "") == "1"


def get_requires_for_build_wheel(config_settings: dict[str, str] | None = None) -> list[str]:
    requires = _setuptools.get_requires_for_build_wheel(config_settings)
    return [*requires, MYPY] if _compiling() else requires
