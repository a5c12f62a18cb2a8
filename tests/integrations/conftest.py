"""Fixtures for the CI integration tests: an offline wheelhouse for the jobs' own venvs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.offline_install import build_wheelhouse


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """agentctl's run and build dependencies as wheels (repacked from the test venv), for ``PIP_FIND_LINKS``."""
    return build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
