"""Releases: the wheel a tag builds, installed in a fresh venv, tells the truth and works.

Built offline (``pip wheel --no-deps --no-build-isolation``, with setuptools and
setuptools-scm from the test venv) from a clone of this repository tagged the way
a release is (``v0.x.y`` plus the moving ``v0``), and from ``git archive`` of that tag,
which is how GitHub hands an action's source to a runner (no ``.git``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(not (REPO_ROOT / ".git").exists(), reason="needs this repository's git clone")
VERSION = "0.98.7"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def tagged_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("release") / "agentctl"
    subprocess.run(["git", "clone", "-q", "--no-local", str(REPO_ROOT), str(clone)], check=True)
    git(clone, "-c", "user.name=Release", "-c", "user.email=release@example.com", "tag", "-a", f"v{VERSION}", "-m", "r")
    git(clone, "tag", "-f", "v0")  # the moving major tag points at the same commit; it is not a version
    return clone


def build_wheel(source: Path, out: Path) -> Path:
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def fresh_venv(path: Path) -> Path:
    """A new venv; agentctl's dependencies are visible through a .pth after its own site-packages (offline)."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    own = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    test_site = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (Path(own) / "zz-test-dependencies.pth").write_text(test_site + "\n")
    return python


def test_tagged_wheel_installs_in_a_fresh_venv_and_checks_the_examples(tagged_clone: Path, tmp_path: Path) -> None:
    wheel = build_wheel(tagged_clone, tmp_path / "dist")
    assert wheel.name.startswith(f"agentctl_cli-{VERSION}-py3-none-any"), wheel.name
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "agentctl/_version.py",
        "agentctl/py.typed",
        "agentctl/score/criteria.yaml",
        "agentctl/scaffold/templates/starter-policy.yaml",
        "agentctl/policy/builtin/kubernetes.yaml",
    ):
        assert required in names, required
    metadata = zipfile.ZipFile(wheel).read(f"agentctl_cli-{VERSION}.dist-info/METADATA").decode()
    assert "Name: agentctl-cli" in metadata and "Requires-Python: >=3.11" in metadata

    python = fresh_venv(tmp_path / "venv")
    pip_install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)]
    install = subprocess.run(pip_install, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    binary = tmp_path / "venv" / "bin" / "agentctl"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"agentctl {VERSION}"
    where = subprocess.run(
        [str(python), "-c", "import agentctl; print(agentctl.__file__)"], capture_output=True, text=True
    )
    assert where.stdout.startswith(str(tmp_path / "venv")), where.stdout  # the wheel's copy, not the checkout

    check = subprocess.run(
        [str(binary), "check", "--format", "json", "examples/"],
        cwd=tagged_clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 1, check.stderr  # the examples hold a privileged container and open SSH
    assert '"k8s-privileged-container"' in check.stdout
    assert '"aws-security-group-admin-port-open"' in check.stdout


def test_git_archive_of_the_tag_knows_its_version(tagged_clone: Path, tmp_path: Path) -> None:
    """What a runner gets for `uses: agentctl/agentctl@v0.x.y`: a tarball with .git_archival.txt filled in."""
    archive = tmp_path / "source.tar"
    git(tagged_clone, "archive", "--format=tar", "--prefix=agentctl/", "-o", str(archive), f"v{VERSION}")
    (tmp_path / "unpacked").mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(tmp_path / "unpacked")], check=True)
    source = tmp_path / "unpacked" / "agentctl"
    assert not (source / ".git").exists()
    assert f"v{VERSION}" in (source / ".git_archival.txt").read_text()
    wheel = build_wheel(source, tmp_path / "dist")
    assert wheel.name.startswith(f"agentctl_cli-{VERSION}-"), wheel.name


def test_version_between_tags_is_a_dev_version_of_the_next(tagged_clone: Path) -> None:
    git(tagged_clone, "-c", "user.name=D", "-c", "user.email=d@example.com", "commit", "-q", "--allow-empty", "-m", "x")
    git(tagged_clone, "tag", "-f", "v0")  # moving v0 forward must not change the version either
    proc = subprocess.run(
        [sys.executable, "-m", "setuptools_scm"], cwd=tagged_clone, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert re.match(r"0\.98\.8\.dev1\+g[0-9a-f]+", proc.stdout.strip()), proc.stdout
