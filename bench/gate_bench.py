"""Benchmark the gate's decision latency as the agent sees it, in one run.

    python bench/gate_bench.py [--calls 500] [--naive-calls 100]

For each call a hook process is started exactly as Claude Code / Codex start
it, the PreToolUse payload is written to its stdin, and the clock stops when
its decision has been read: process start to decision.

* agentctl: ``python -m agentctl gate`` talking to the run's gate server
  (policies compiled once).                 target: p95 <= 25 ms
* naive: the same command without a server, so every call imports agentctl
  and compiles the policies (what a hook that starts ``python -m agentctl``
  per call does).                           target: agentctl p95 <= 1/10 of naive p95

Payloads alternate a shell command and a Terraform write (which gets the IaC
preview), half of them denied.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import agentctl

GPU_TF = 'resource "aws_instance" "t" {\n  instance_type = "p4d.24xlarge"\n}\n'
CPU_TF = 'resource "aws_instance" "t" {\n  instance_type = "m6i.large"\n}\n'


def payloads(root: Path) -> list[str]:
    calls = [
        {"tool_name": "Bash", "tool_input": {"command": "terraform plan -out tfplan"}},
        {"tool_name": "Write", "tool_input": {"file_path": str(root / "envs/dev/main.tf"), "content": GPU_TF}},
        {"tool_name": "Bash", "tool_input": {"command": "terraform destroy -auto-approve"}},
        {"tool_name": "Write", "tool_input": {"file_path": str(root / "envs/dev/main.tf"), "content": CPU_TF}},
    ]
    return [
        json.dumps({**c, "hook_event_name": "PreToolUse", "cwd": str(root), "session_id": "s", "tool_use_id": f"t{i}"})
        for i, c in enumerate(calls)
    ]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def hook_command() -> list[str]:
    """Exactly what agentctl run wires into the agent's settings."""
    import shlex

    from agentctl.runner.supervisor import _GateServer

    return shlex.split(_GateServer.hook_command("claude"))


def measure(env: dict[str, str], bodies: list[str], calls: int, root: Path, naive: bool) -> tuple[list[float], int]:
    samples, denied = [], 0
    command = [sys.executable, "-m", "agentctl", "gate", "--agent", "claude"] if naive else hook_command()
    for i in range(calls):
        start = time.perf_counter()
        proc = subprocess.run(command, input=bodies[i % len(bodies)], capture_output=True, text=True, env=env, cwd=root)
        samples.append((time.perf_counter() - start) * 1000)
        denied += '"deny"' in proc.stdout
    return samples, denied


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--naive-calls", type=int, default=100)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(agentctl.__file__).parent)], check=True)

    with tempfile.TemporaryDirectory(prefix="agentctl-gate-bench-") as tmp:
        root = Path(tmp) / "repo"
        (root / "envs" / "dev").mkdir(parents=True)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        socket_path = Path(tmp) / "gate.sock"
        server = subprocess.Popen(
            [sys.executable, "-m", "agentctl", "gate", "serve", "--socket", str(socket_path), "--root", str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert server.stdout is not None
            if b'"ready"' not in server.stdout.readline():
                sys.exit("gate server did not start")
            # Drain the decision log the server writes (agentctl run reads it into the record).
            threading.Thread(target=server.stdout.read, daemon=True).start()
            bodies = payloads(root)
            base_env = {k: v for k, v in os.environ.items() if k != "AGENTCTL_GATE_SOCKET"}
            server_env = {**base_env, "AGENTCTL_GATE_SOCKET": str(socket_path)}
            fast, fast_denied = measure(server_env, bodies, args.calls, root, naive=False)
            naive, naive_denied = measure(base_env, bodies, args.naive_calls, root, naive=True)
        finally:
            server.terminate()

    if fast_denied != args.calls // 2 or naive_denied != args.naive_calls // 2:
        sys.exit(f"unexpected decisions: {fast_denied}/{args.calls} and {naive_denied}/{args.naive_calls} denied")
    f50, f95, n50, n95 = percentile(fast, 0.5), percentile(fast, 0.95), percentile(naive, 0.5), percentile(naive, 0.95)
    print(f"\n{'hook':<34}{'calls':>6}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    print(f"{'agentctl gate (per-run server)':<34}{args.calls:>6}{f50:>9.1f}{f95:>9.1f}{statistics.mean(fast):>9.1f}")
    naive_mean = statistics.mean(naive)
    print(f"{'naive (python -m agentctl, no server)':<34}{args.naive_calls:>6}{n50:>9.1f}{n95:>9.1f}{naive_mean:>9.1f}")
    ratio = n95 / f95
    ok_abs, ok_rel = f95 <= 25, f95 <= n95 / 10
    print(
        f"\np95 <= 25 ms: {'yes' if ok_abs else 'NO'} ({f95:.1f} ms); p95 ratio naive/agentctl = {ratio:.1f}x "
        f"(target >= 10x): {'yes' if ok_rel else 'NO'}"
    )
    return 0 if ok_abs and ok_rel else 1


if __name__ == "__main__":
    raise SystemExit(main())
