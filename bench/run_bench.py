"""Benchmark `agentctl run`'s overhead, in one run.

    python bench/run_bench.py                # both measurements
    python bench/run_bench.py --events-only  # no agent CLI needed

1. Event handling: a recorded-shape stream of 100,000 Claude Code stream-json
   events goes through the adapter, budgets, redaction and the SQLite store
   (one transaction per event, as in a real run).       target: <= 50 µs/event,
   and memory flat: the peak after 100k events is no higher than after 10k plus 10 MiB.
2. Wall overhead: the real Claude Code CLI on a scripted 200-tool-call session,
   bare vs under `agentctl run --no-gate` (same script, same flags): the cost of
   supervising and recording.                                  target: <= 5 %
   (the post-run check is left out with --no-check: it is not overhead on the agent).
3. The same session with the policy gate on (the default), reported per tool call:
   Claude Code starts the hook process before every call, which the scripted
   model's zero latency makes look large; see bench/gate_bench.py for the
   decision latency itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.support.model_server import ModelServer  # noqa: E402

from agentctl.agents.claude import ClaudeAdapter  # noqa: E402
from agentctl.model.run import RunStatus  # noqa: E402
from agentctl.redact import Redactor  # noqa: E402
from agentctl.runner.limits import Limits, Tracker  # noqa: E402
from agentctl.runner.pricing import PriceTable  # noqa: E402
from agentctl.store.sqlite import EventWriter, RunRecord, Store  # noqa: E402

CLAUDE = REPO / "tests" / "agents" / "node_modules" / ".bin" / "claude"


def recorded_stream(count: int) -> list[str]:
    """Lines shaped like a real Claude Code session (see tests/agents): turns, tool calls, results."""
    lines = [
        json.dumps(
            {"type": "system", "subtype": "init", "session_id": "s-1", "model": "claude-opus-5-5", "tools": ["Bash"]}
        )
    ]
    i = 0
    while len(lines) < count - 1:
        i += 1
        lines.append(
            json.dumps(
                {
                    "type": "assistant",
                    "message": {
                        "id": f"msg_{i}",
                        "model": "claude-opus-5-5",
                        "content": [
                            {
                                "type": "tool_use",
                                "id": f"toolu_{i}",
                                "name": "Bash",
                                "input": {"command": f"make test-{i % 50}"},
                            }
                        ],
                        "usage": {"input_tokens": 1200 + i % 300, "output_tokens": 1},
                    },
                    "session_id": "s-1",
                    "timestamp": "2026-11-21T05:09:31.494Z",
                }
            )
        )
        lines.append(
            json.dumps(
                {
                    "type": "user",
                    "message": {
                        "role": "user",
                        "content": [
                            {
                                "tool_use_id": f"toolu_{i}",
                                "type": "tool_result",
                                "content": f"ok {i}\n" + "x" * 200,
                                "is_error": False,
                            }
                        ],
                    },
                    "session_id": "s-1",
                }
            )
        )
    lines.append(
        json.dumps({"type": "result", "subtype": "success", "total_cost_usd": 12.5, "num_turns": i, "usage": {}})
    )
    return lines[:count]


def measure_events(count: int, trace: bool) -> tuple[float, int, int]:
    """Per-event wall time (with ``trace`` off) or traced memory peaks (with it on: tracing slows Python)."""
    lines = recorded_stream(count)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "agentctl.db")
        run_id = "bench"
        store.create_run(RunRecord(id=run_id, agent="claude", status=RunStatus.RUNNING.value, started_at=time.time()))
        writer = EventWriter(store.path)
        adapter = ClaudeAdapter()
        tracker = Tracker(Limits(max_repeats=10**9), PriceTable())
        redactor = Redactor()
        if trace:
            tracemalloc.start()
        peak_at_10k = 0
        seq = 0
        start = time.perf_counter()
        for n, line in enumerate(lines, 1):
            for event in adapter.feed(line):
                tracker.observe(event)
                seq += 1
                flush = seq % 50 == 0  # the supervisor flushes totals every 0.5 s; every 50 events is stricter
                counters = tracker.counters() if flush else None
                writer.append(run_id, seq, event.kind.value, event.at, redactor.json(event.to_record()), counters)
            if trace and n == 10_000:
                peak_at_10k = tracemalloc.get_traced_memory()[1]
        writer.close()  # everything committed before the clock stops
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        stored = store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        store.close()
    if stored != seq:
        sys.exit(f"lost events: {seq} handled, {stored} stored")
    return elapsed / seq * 1e6, peak_at_10k, peak


def session(tool_calls: int) -> list[dict[str, object]]:
    return [{"tool": "Bash", "input": {"command": f"true {i}", "description": "step"}} for i in range(tool_calls)] + [
        {"text": "done"}
    ]


def timed_claude(prefix: list[str], repo: Path, home: Path, tool_calls: int) -> float:
    with ModelServer(session(tool_calls)) as server:
        env = {
            **os.environ,
            "PATH": f"{CLAUDE.parent}:{os.environ['PATH']}",
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-bench-not-a-secret-000000",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "AGENTCTL_STORE": str(home / "agentctl.db"),
        }
        command = [
            *prefix,
            "claude",
            "-p",
            "bench",
            "--allowedTools",
            "Bash",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
        start = time.perf_counter()
        proc = subprocess.run(
            command, cwd=repo, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr[-2000:]}")
        return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--tool-calls", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="alternating bare/agentctl pairs (median)")
    parser.add_argument("--events-only", action="store_true")
    args = parser.parse_args()

    rows = []
    per_event, _, _ = measure_events(args.events, trace=False)
    _, peak_10k, peak = measure_events(args.events, trace=True)
    rows.append(("event handling", f"{per_event:.1f} µs/event", "<= 50 µs/event", per_event <= 50))
    flat = peak <= peak_10k + 10 * 1024 * 1024
    rows.append(
        (
            "memory (traced peak)",
            f"{peak_10k / 1e6:.1f} MB @10k, {peak / 1e6:.1f} MB @{args.events // 1000}k",
            "flat",
            flat,
        )
    )

    if not args.events_only:
        if not CLAUDE.exists():
            sys.exit(f"{CLAUDE} missing: run `npm ci --prefix tests/agents` (or pass --events-only)")
        agentctl = str(Path(sys.executable).parent / "agentctl")
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp) / "repo"
            repo.mkdir()
            subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
            home = Path(tmp) / "home"
            home.mkdir()
            bare, wrapped, gated = [], [], []
            base = [agentctl, "run", "-q", "--no-check", "--max-repeats", "1000"]
            for _ in range(args.runs):
                bare.append(timed_claude([], repo, home, args.tool_calls))
                wrapped.append(timed_claude([*base, "--no-gate", "--"], repo, home, args.tool_calls))
                gated.append(timed_claude([*base, "--"], repo, home, args.tool_calls))
            b, w, g = statistics.median(bare), statistics.median(wrapped), statistics.median(gated)
            overhead = (w - b) / b * 100
            result = f"bare {b:.2f}s, agentctl --no-gate {w:.2f}s ({overhead:+.1f}%)"
            rows.append((f"wall, {args.tool_calls} tool calls", result, "<= 5 %", overhead <= 5))
            per_call = (g - b) / args.tool_calls * 1000
            rows.append(("with the gate on (default)", f"{g:.2f}s: +{per_call:.0f} ms per tool call", "info", True))

    print(f"\n{'measurement':<28}{'result':<48}{'target':<16}ok")
    for name, result, target, ok in rows:
        print(f"{name:<28}{result:<48}{target:<16}{'yes' if ok else 'NO'}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
