"""Benchmark the tripwires' and the after-tool verify's cost per tool call, in one run.

    python bench/tripwire_bench.py [--calls 500]

1. Tripwires (in ``agentctl run``'s event loop, after every tool result): the
   protected set's fingerprint compared with the one taken at start, plus the
   gate-decision bookkeeping, on a realistic set (a git repository with its
   sample hooks, the built-in policies, ``.agentctl/``, a Claude Code home with
   400 transcripts, ``~/.claude.json``). Measured against the same tool result
   handled without tripwires (adapter, budgets, redaction, the SQLite write).
                                                       target: tripwire p95 <= 5 ms
2. Verify after a tool call (in the gate server): ``git status`` plus judging
   the changed IaC files against the start commit, in a repository of 300
   ``.tf`` files where each call changes one. Reported next to the
   PreToolUse decision round trip the agent already pays (hook process start to
   decision), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from agentctl.agents.claude import ClaudeAdapter  # noqa: E402
from agentctl.engine.evaluate import Evaluator  # noqa: E402
from agentctl.gate.decide import load_book  # noqa: E402
from agentctl.policy import loader as policy_loader  # noqa: E402
from agentctl.redact import Redactor  # noqa: E402
from agentctl.runner.limits import Limits, Tracker  # noqa: E402
from agentctl.runner.pricing import PriceTable  # noqa: E402
from agentctl.runner.tripwire import BypassWatch, ProtectWatch, Tripwire, watch_list  # noqa: E402
from agentctl.runner.verify import Verifier  # noqa: E402
from agentctl.store.sqlite import EventWriter, RunRecord, Store  # noqa: E402
from bench.gate_bench import hook_command, percentile  # noqa: E402


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_repo(base: Path, tf_files: int) -> Path:
    root = base / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "b@example.com")
    git(root, "config", "user.name", "bench")
    policies = root / "policies"
    policies.mkdir()
    for source in policy_loader.builtin_files():
        (policies / Path(source.source).name).write_text(source.text)
    for i in range(tf_files):
        path = root / "envs" / f"svc{i % 30}" / f"main{i}.tf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'resource "aws_instance" "web{i}" {{\n  ami = "ami-{i}"\n  instance_type = "m6i.large"\n}}\n')
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def make_home(base: Path) -> Path:
    home = base / "home"
    claude = home / ".claude"
    (claude / "projects" / "p").mkdir(parents=True)
    (claude / "settings.json").write_text(json.dumps({"permissions": {"allow": ["Bash(ls:*)"]}}))
    for i in range(400):
        (claude / "projects" / "p" / f"{i}.jsonl").write_text('{"type":"user"}\n' * 50)
    projects = {f"/work/p{i}": {"allowedTools": [], "history": ["x"] * 20} for i in range(50)}
    (home / ".claude.json").write_text(json.dumps({"numStartups": 3, "projects": projects}))
    return home


def tool_result(i: int) -> str:
    message = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "ok\n" * 20}]}
    return json.dumps({"type": "user", "message": message})


def measure_loop(root: Path, home: Path, calls: int, with_tripwire: bool) -> list[float]:
    """Milliseconds to handle one tool result in the supervisor's loop, with or without the tripwires."""
    store = Store(root / ".agentctl" / "agentctl.db")
    run_id = f"bench-{with_tripwire}"
    store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time(), cwd=str(root)))
    writer = EventWriter(store.path)
    adapter, tracker, redactor = ClaudeAdapter(), Tracker(Limits(), PriceTable()), Redactor()
    wire = None
    if with_tripwire:
        paths, skip, claude_json = watch_list(root, [root / "policies"], {"HOME": str(home)}, store.path)
        wire = Tripwire(BypassWatch("claude"), ProtectWatch(paths, skip, claude_json))
    samples = []
    for i in range(calls):
        line = tool_result(i)
        if wire is not None:
            wire.decision({"tool_id": f"t{i}", "tool_name": "Bash", "decision": "allow"})
        start = time.perf_counter()
        for event in adapter.feed(line):
            tracker.observe(event)
            writer.append(run_id, i, event.kind.value, event.at, redactor.json(event.to_record()), None)
            if wire is not None:
                breach = wire.event(event) or wire.tick()
                assert breach is None, breach
        samples.append((time.perf_counter() - start) * 1000)
    writer.close()
    store.close()
    return samples


def measure_verify(root: Path, calls: int) -> list[float]:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    verifier = Verifier(root, head, Evaluator(load_book(root, [])))
    samples = []
    for i in range(calls):
        path = root / "envs" / f"svc{i % 30}" / f"main{i % 300}.tf"
        path.write_text(path.read_text() + f"# edit {i}\n")
        start = time.perf_counter()
        verifier.scan()
        samples.append((time.perf_counter() - start) * 1000)
    git(root, "checkout", "-q", "--", ".")
    return samples


def measure_pre_hook(root: Path, calls: int) -> list[float]:
    socket_dir = Path(tempfile.mkdtemp(prefix="agentctl-bench-"))
    socket = socket_dir / "gate.sock"
    server = subprocess.Popen(
        [sys.executable, "-m", "agentctl", "gate", "serve", "--socket", str(socket), "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert server.stdout is not None
    server.stdout.readline()
    import threading

    threading.Thread(target=lambda: [None for _ in server.stdout or []], daemon=True).start()
    env = {**os.environ, "AGENTCTL_GATE_SOCKET": str(socket)}
    body = json.dumps({"tool_name": "Bash", "tool_input": {"command": "ls"}, "cwd": str(root), "tool_use_id": "t"})
    samples = []
    try:
        for _ in range(calls):
            start = time.perf_counter()
            subprocess.run(hook_command(), input=body, capture_output=True, text=True, env=env, cwd=root)
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(socket_dir, ignore_errors=True)
    return samples


def row(name: str, samples: list[float]) -> tuple[float, float]:
    p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
    print(f"{name:<52}{len(samples):>6}{p50:>9.2f}{p95:>9.2f}")
    return p50, p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentctl-tripwire-bench-") as tmp:
        base = Path(tmp)
        root, home = make_repo(base, 300), make_home(base)
        watched = len(ProtectWatch(*watch_list(root, [root / "policies"], {"HOME": str(home)}, None)).start)
        print(f"protected set: {watched} entries fingerprinted; {options.calls} tool calls\n")
        print(f"{'per tool call':<52}{'calls':>6}{'p50 ms':>9}{'p95 ms':>9}")
        _, without = row("event loop without tripwires", measure_loop(root, home, options.calls, False))
        _, with_ = row("event loop with tripwires", measure_loop(root, home, options.calls, True))
        _, verify = row("verify: git status + changed IaC judged", measure_verify(root, min(options.calls, 300)))
        _, pre = row("PreToolUse decision round trip (the peer)", measure_pre_hook(root, min(options.calls, 200)))
    overhead = with_ - without
    print(
        f"\ntripwire overhead p95: {overhead:.2f} ms per tool call (target <= 5 ms: {'yes' if overhead <= 5 else 'NO'})"
        f"; with/without = {with_ / without:.1f}x"
    )
    print(f"verify p95 {verify:.1f} ms = {verify / pre:.2f}x the PreToolUse round trip ({pre:.1f} ms)")
    return 0 if overhead <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
