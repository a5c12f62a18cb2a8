"""Build the compiled gate (``AGENTCTL_COMPILE=1``) from this working tree, offline, into a directory.

    python bench/compiled.py DIR      # then: PYTHONPATH=DIR python bench/shell_bench.py

The build is the one a user's ``AGENTCTL_COMPILE=1 pip install .`` and the release's platform wheels make:
``pip wheel --no-build-isolation`` (mypy from this venv) of a copy of the tracked files as they are now, the
wheel installed with ``pip install --target DIR``. Used by ``bench/shell_bench.py --compiled`` and by
``tests/integrations/test_compiled_gate.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def missing() -> str | None:
    """Why the compiled gate cannot be built here (None: it can)."""
    try:
        import mypyc  # noqa: F401
    except ImportError:
        return "mypy (mypyc) is not installed: pip install -e '.[test]'"
    if not (shutil.which("cc") or shutil.which("gcc")):
        return "no C compiler (cc/gcc)"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (python3-dev)"
    if not (ROOT / ".git").exists():
        return "needs this repository's git checkout (its file list)"
    return None


def build(base: Path) -> tuple[Path, Path]:
    """Build into ``base``: (the wheel, the directory it is installed in). Raises RuntimeError on failure."""
    source = base / "source"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():  # the working tree as it is now
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    env = {**os.environ, "AGENTCTL_COMPILE": "1", "SETUPTOOLS_SCM_PRETEND_VERSION": "0.99.0"}
    out = base / "dist"
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "-q"]
    _run([sys.executable, "-m", "pip", "wheel", *offline, "-w", str(out), str(source)], env)
    wheel = next(out.glob("*.whl"))
    target = base / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)])
    return wheel, target


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1200, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:5])} … failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/compiled.py DIR")
    reason = missing()
    if reason:
        sys.exit(f"cannot build the compiled gate: {reason}")
    wheel, target = build(Path(sys.argv[1]).resolve())
    print(f"{wheel.name}\ninstalled in {target}: PYTHONPATH={target} python bench/shell_bench.py")
