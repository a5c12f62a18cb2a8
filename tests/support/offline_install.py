"""Offline installs of agentctl for the CI-template tests, and proof that they stay in their own venv.

The GitLab job and the GitHub Action install agentctl into a venv of their own with
pip. A test has no package index, so it hands pip a wheelhouse instead: the
distributions agentctl needs at run time and to build (setuptools, setuptools-scm),
repacked as wheels from the test venv's installed files into the test's tmp dir.
pip then resolves everything from that directory (``PIP_NO_INDEX=1``,
``PIP_FIND_LINKS``), exactly as an air-gapped runner with a mirror would.

The jobs must not see the test venv at all: with the test venv's site-packages on
``PYTHONPATH``, a pip that runs outside a venv treats the editable agentctl there as
its own, uninstalls it and installs a copy into the interpreter's site-packages.
``PythonState`` snapshots the test venv and the base interpreter so a test can
assert that neither changed.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata as metadata
import io
import json
import os
import re
import site
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DISTRIBUTION = "agentctl-cli"
# the build-system requires of pyproject.toml: pip builds agentctl from source in an isolated env
BUILD_REQUIRES = ("setuptools>=70.1", "setuptools-scm>=9")
# The interpreter the test venv was made from: a runner's python3 in these tests.
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
SKIPPED_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> list[Requirement]:
    out = []
    for text in dist.requires or []:
        requirement = Requirement(text)
        wanted = {""} | set(extras)
        if requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in wanted):
            out.append(requirement)
    return out


def closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions that REQUIREMENTS need, transitively (agentctl itself excluded)."""
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, frozenset[str]] = {}
    todo = [Requirement(text) for text in requirements]
    agentctl = metadata.distribution(DISTRIBUTION)
    todo += _requirements(agentctl, frozenset())
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        extras = frozenset(requirement.extras) | extras_seen.get(name, frozenset())
        if name in found and extras == extras_seen[name]:
            continue
        dist = metadata.distribution(requirement.name)  # PackageNotFoundError: the test venv lacks it
        found[name], extras_seen[name] = dist, extras
        todo += _requirements(dist, extras)
    found.pop(canonicalize_name(DISTRIBUTION), None)
    return found


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def repack(dist: metadata.Distribution, out: Path) -> Path:
    """A wheel of an installed distribution, from its RECORD (scripts outside site-packages are left out:
    pip writes console scripts again from entry_points.txt)."""
    wheel_meta = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:")]
    if not tags:
        raise RuntimeError(f"{dist.metadata['Name']} was not installed from a wheel (no WHEEL tags)")
    parts = [sorted({tag.split("-")[i] for tag in tags}) for i in range(3)]
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    path = out / f"{name}-{dist.version}-{'-'.join('.'.join(p) for p in parts)}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    info_dir = None
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        for file in dist.files or []:
            relative = file.as_posix()
            if relative.startswith("../") or "__pycache__" in file.parts or relative.endswith(".pyc"):
                continue
            if file.parts[0].endswith(".dist-info"):
                info_dir = file.parts[0]
                if file.name in SKIPPED_METADATA:
                    continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            wheel.writestr(relative, data)
            writer.writerow([relative, _digest(data), len(data)])
        if info_dir is None:
            raise RuntimeError(f"{dist.metadata['Name']}: no .dist-info in its RECORD")
        writer.writerow([f"{info_dir}/RECORD", "", ""])
        wheel.writestr(f"{info_dir}/RECORD", record.getvalue())
    return path


def build_wheelhouse(out: Path) -> Path:
    """Wheels of everything agentctl needs to build and run, from the test venv; not agentctl itself."""
    out.mkdir(parents=True, exist_ok=True)
    for dist in closure(list(BUILD_REQUIRES)).values():
        repack(dist, out)
    return out


def offline_pip_env(wheelhouse: Path) -> dict[str, str]:
    """pip settings for a job: no index, the wheelhouse, and never an install outside a venv."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_REQUIRE_VIRTUALENV": "1",  # a pip that is not in the job's venv refuses instead of installing
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_COMPILE": "1",
    }


def clean_environ() -> dict[str, str]:
    """os.environ without what would point a job's Python or pip somewhere else."""
    leaks = ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in leaks and not k.startswith("PIP_")}


def _installed(paths: list[str]) -> dict[str, str]:
    existing = [p for p in dict.fromkeys(paths) if os.path.isdir(p)]
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=existing)}


@dataclass(frozen=True)
class PythonState:
    """What a test's job must leave alone: the test venv (with its agentctl) and the base interpreter."""

    venv: dict[str, str]
    agentctl_direct_url: dict
    agentctl_imported_from: str
    base: dict[str, str]

    @classmethod
    def capture(cls) -> PythonState:
        venv_paths = sysconfig.get_paths()
        base_paths = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
        venv_site = [venv_paths["purelib"], venv_paths["platlib"]]
        dist = next(iter(metadata.distributions(name=DISTRIBUTION, path=venv_site)), None)
        direct_url = json.loads(dist.read_text("direct_url.json") or "{}") if dist else {}
        imported = subprocess.run(
            [sys.executable, "-c", "import agentctl; print(agentctl.__file__)"],
            env=clean_environ(),
            capture_output=True,
            text=True,
            check=False,
        )
        return cls(
            venv=_installed(venv_site),
            agentctl_direct_url=direct_url,
            agentctl_imported_from=imported.stdout.strip() or imported.stderr.strip()[-300:],
            base=_installed([base_paths["purelib"], base_paths["platlib"], site.getusersitepackages()]),
        )

    def assert_unchanged_by(self, what: str) -> None:
        """Fails when WHAT changed the test venv or the base interpreter, or when agentctl is not editable."""
        after = PythonState.capture()
        assert after.venv == self.venv, f"{what} changed the test venv {sys.prefix}: {_diff(self.venv, after.venv)}"
        assert after.agentctl_direct_url == self.agentctl_direct_url, f"{what} replaced the test venv's agentctl"
        assert after.agentctl_direct_url.get("dir_info", {}).get("editable"), (
            f"the test venv's agentctl is not the editable install: {after.agentctl_direct_url}"
        )
        assert after.agentctl_imported_from == self.agentctl_imported_from, (
            f"{what} changed where the test venv imports agentctl from: {after.agentctl_imported_from}"
        )
        assert after.base == self.base, f"{what} changed {BASE_PYTHON}'s packages: {_diff(self.base, after.base)}"
        assert canonicalize_name(DISTRIBUTION) not in after.base, (
            f"{DISTRIBUTION} is installed in the machine's Python {BASE_PYTHON}"
            + (" (already before this test)" if canonicalize_name(DISTRIBUTION) in self.base else "")
        )


def _diff(before: dict[str, str], after: dict[str, str]) -> str:
    gone = sorted(set(before) - set(after))
    new = sorted(f"{k}=={after[k]}" for k in set(after) - set(before))
    changed = sorted(f"{k} {before[k]} -> {after[k]}" for k in set(before) & set(after) if before[k] != after[k])
    return f"removed {gone}, added {new}, changed {changed}"
