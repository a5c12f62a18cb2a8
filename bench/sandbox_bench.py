"""Benchmark the sandbox's start-up overhead, in one run.

    python bench/sandbox_bench.py              # both measurements
    python bench/sandbox_bench.py --no-agent   # no agent CLI needed

1. Start-up: what ``agentctl run`` pays per run for the sandbox: checking that
   bwrap works (a remembered probe), building the view (``prepare``: private home,
   placeholders), starting a command through bwrap instead of directly, and
   ``cleanup``. Measured on ``true`` against ``true`` started directly; the probe
   itself (``bwrap … true``, paid once per boot or settings change) is shown apart.
                                                                    target: <= 50 ms
2. A tiny agent run: the real Claude Code CLI answering one scripted turn, under
   ``agentctl run --sandbox bwrap`` vs ``--sandbox off`` (same script, alternating
   pairs, median).                                                  target: <= 50 ms
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.support.model_server import ModelServer  # noqa: E402

from agentctl.sandbox.bwrap import BwrapBackend  # noqa: E402
from agentctl.sandbox.profile import build  # noqa: E402

CLAUDE = REPO / "tests" / "agents" / "node_modules" / ".bin" / "claude"
TARGET_MS = 50.0


def workspace(tmp: Path) -> tuple[Path, dict[str, str]]:
    repo = tmp / "repo"
    home = tmp / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text("{}")
    (home / ".aws").mkdir()
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "README.md").write_text("# bench\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "init"], check=True
    )
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1"}
    return repo, env


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
    return time.perf_counter() - start


def startup(runs: int) -> tuple[float, float, float]:
    """Median seconds: bare ``true``, and the sandbox's whole per-run cost around ``true``; and the probe alone."""
    with tempfile.TemporaryDirectory() as tmp:
        repo, env = workspace(Path(tmp))
        bare: list[float] = []
        boxed: list[float] = []
        probes: list[float] = []
        for _ in range(runs):
            bare.append(timed(["true"], repo, env))
            start = time.perf_counter()
            reason = BwrapBackend()._probe()  # the first run after a boot or a settings change pays this
            probes.append(time.perf_counter() - start)
            if reason is not None:
                raise SystemExit(f"bwrap unusable here: {reason}")
            start = time.perf_counter()
            backend = BwrapBackend()
            backend.available()  # remembered: a file check
            profile = build(repo, repo, [], env)
            backend.prepare(profile)
            argv = backend.wrap(["true"], profile)
            subprocess.run(argv, cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
            backend.cleanup()
            boxed.append(time.perf_counter() - start)
        return statistics.median(bare), statistics.median(boxed), statistics.median(probes)


def tiny_agent_run(runs: int) -> tuple[float, float]:
    """Median seconds of ``agentctl run`` of one scripted Claude turn: --sandbox off, --sandbox bwrap."""
    agentctl = str(Path(sys.executable).parent / "agentctl")
    off: list[float] = []
    on: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        repo, env = workspace(Path(tmp))
        env |= {
            "PATH": f"{CLAUDE.parent}:{env['PATH']}",
            "ANTHROPIC_API_KEY": "sk-ant-api03-bench-key-not-a-real-secret-0000",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "AGENTCTL_STORE": str(Path(tmp) / "agentctl.db"),
        }
        for _ in range(runs):
            for mode, sink in (("off", off), ("bwrap", on)):
                with ModelServer([{"text": "done"}]) as server:
                    command = [agentctl, "run", "-q", "--no-check", "--no-gate", "--sandbox", mode, "--"]
                    command += ["claude", "-p", "hi"]
                    sink.append(timed(command, repo, {**env, "ANTHROPIC_BASE_URL": server.url}))
    return statistics.median(off), statistics.median(on)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="start-up samples (median)")
    parser.add_argument("--agent-runs", type=int, default=5, help="alternating off/bwrap agent run pairs (median)")
    parser.add_argument("--no-agent", action="store_true", help="skip the agent run (no CLI needed)")
    options = parser.parse_args()

    rows: list[tuple[str, str, bool]] = []
    bare, boxed, probe = startup(options.runs)
    added = (boxed - bare) * 1000
    rows.append(
        (
            "sandbox start-up",
            f"true {bare * 1000:.1f} ms, sandboxed {boxed * 1000:.1f} ms (first-run probe +{probe * 1000:.1f} ms): "
            f"+{added:.1f} ms, x{boxed / bare:.1f}",
            added <= TARGET_MS,
        )
    )
    if not options.no_agent:
        if not CLAUDE.exists():
            print(f"{CLAUDE} missing: npm ci --prefix tests/agents (or pass --no-agent)", file=sys.stderr)
            return 2
        off, on = tiny_agent_run(options.agent_runs)
        delta = (on - off) * 1000
        rows.append(
            (
                "tiny claude run",
                f"--sandbox off {off:.3f} s, bwrap {on:.3f} s: {delta:+.1f} ms, ratio {on / off:.3f}",
                delta <= TARGET_MS,
            )
        )
    print(f"\n{'measurement':<20}{'result':<90}{'target':<12}ok")
    for name, result, ok in rows:
        print(f"{name:<20}{result:<90}{'<= 50 ms':<12}{'yes' if ok else 'NO'}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
