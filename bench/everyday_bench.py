"""Decision latency of everyday test commands in a large repository, in one run.

    python bench/everyday_bench.py [--files 5000] [--conftests 5] [--calls 30]

Builds the everyday repository of ``tests/gate/everyday_repo.py`` padded to about FILES
files (test packages, sources, node_modules, .venv, .terraform), lets the directories settle,
and times the gate's in-process decision of ``pytest``, ``make test``, ``tox -e lint``,
``npm test`` and ``git merge feature/x`` (the judging the per-run server does per hook call).

* cached: directory listings reused between decisions (``agentctl.gate.listing``).
                                                   target: p95 <= 20 ms each at 5,000 files
* peer: the same decisions with the listing cache emptied before each one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.gate import everyday_repo

from agentctl.gate import listing
from agentctl.gate.decide import Gatekeeper, load_book

COMMANDS = ["pytest -q", "make test", "tox -e lint", "npm test", "git merge feature/x"]


def pad(root: Path, files: int, conftests: int) -> None:
    per = 20
    packages = max(1, files // (per * 4))
    for i in range(packages):
        for place, text in (
            (f"tests/pkg{i}/test_m{{}}.py", "def test_x():\n    assert True\n"),
            (f"src/platform_tools/m{i}/f{{}}.py", "x = 1\n"),
            (f"node_modules/dep{i}/lib/f{{}}.js", "module.exports = 1;\n"),
            (f".venv/lib/python3.11/site-packages/p{i}/f{{}}.py", "x = 1\n"),
        ):
            for j in range(per):
                target = root / place.format(j)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
        if conftests and i % max(1, packages // conftests) == 0:
            (root / f"tests/pkg{i}/conftest.py").write_text("import pytest\n")


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--conftests", type=int, default=5)
    parser.add_argument("--calls", type=int, default=30)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = everyday_repo.build(Path(tmp) / "app")
        pad(root, opts.files, opts.conftests)
        total = sum(1 for p in root.rglob("*") if p.is_file())
        time.sleep(listing._SETTLED_NS / 1e9 + 0.5)  # listings are only kept once the directories have settled
        keeper = Gatekeeper(root, load_book(root, []))
        print(f"repository: {total} files, {opts.conftests} conftest.py below tests/")
        worst = 0.0
        for command in COMMANDS:
            payload = {"tool_name": "Bash", "tool_input": {"command": command}, "cwd": str(root)}
            keeper.decide(payload, "claude")
            rows = {}
            for name, flush in (("cached", False), ("peer", True)):
                samples = []
                for _ in range(opts.calls):
                    if flush:
                        listing._kept.clear()
                    start = time.perf_counter()
                    keeper.decide(payload, "claude")
                    samples.append((time.perf_counter() - start) * 1000)
                rows[name] = samples
            cached, peer = p95(rows["cached"]), p95(rows["peer"])
            worst = max(worst, cached)
            print(
                f"{command:22} cached p95 {cached:6.1f} ms (median {statistics.median(rows['cached']):5.1f})"
                f"   peer p95 {peer:6.1f} ms   ratio {cached / peer if peer else 0:4.2f}"
            )
        ok = worst <= 20.0
        print(f"target p95 <= 20 ms: {'met' if ok else 'MISSED'} (worst {worst:.1f} ms)")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
