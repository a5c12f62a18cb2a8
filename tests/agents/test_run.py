"""``agentctl run`` against the real Claude Code and Codex CLIs and a scripted model.

Every case checks the exit code a CI job sees and the run record a person reads
afterwards (``agentctl runs show``): the record must be complete whatever
stopped the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.agents.conftest import AgentHarness
from tests.support.model_server import ModelServer

PUBLIC_ACL_TF = 'resource "aws_s3_bucket_acl" "site" {\n  bucket = "www"\n  acl    = "public-read"\n}\n'
PRIVILEGED_POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  containers:\n    - name: sh\n"
    "      image: busybox:1.36\n      securityContext:\n        privileged: true\n"
)


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


def agent_processes(marker: str) -> list[str]:
    proc = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return proc.stdout.split()


def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_claude_run_is_recorded_and_its_diff_checked(harness: AgentHarness, server_factory) -> None:
    target = harness.repo.root / "envs" / "dev" / "site.tf"
    server = server_factory(
        [
            {"tool": "Write", "input": {"file_path": str(target), "content": PUBLIC_ACL_TF}},
            {"tool": "Bash", "input": {"command": "ls envs/dev", "description": "list"}},
            {"text": "Added the site bucket ACL."},
        ]
    )
    # --no-gate: the gate would stop this write before it happens (tests/agents/test_gate.py);
    # here the post-run check must catch it instead.
    result = harness.run(server, "claude", "--max-usd", "5", "--no-gate")

    assert result.code == 1, result.stderr  # the agent succeeded, the post-run check blocks
    summary = result.summary
    assert summary["status"] == "completed"
    assert summary["agent"] == "claude" and summary["model"] == "claude-opus-5-5"
    assert summary["turns"] == 3 and summary["tool_calls"] == 2
    assert summary["cost_source"] == "gateway" and summary["cost_usd"] > 0  # read from the provider's stream
    assert summary["usage"]["input_tokens"] == 3600
    [finding] = [f for f in summary["check"]["findings"] if f["status"] == "open"]
    assert (finding["rule_id"], finding["path"], finding["line"]) == ("aws-s3-public-acl", "envs/dev/site.tf", 1)

    shown = harness.show(summary["run_id"])
    events = shown["events"]
    assert kinds(events)[0] == "session"
    tools = [(e["tool_name"], e["tool_input"]) for e in events if e["kind"] == "tool_start"]
    assert tools == [
        ("Write", {"file_path": str(target), "content": PUBLIC_ACL_TF}),
        ("Bash", {"command": "ls envs/dev", "description": "list"}),
    ]
    assert sum(1 for e in events if e["kind"] == "tool_end" and e.get("ok", True)) == 2
    assert events[-1]["kind"] == "result"
    # agentctl added the stream flags to the agent's own arguments
    command = shown["run"]["command"]
    assert command[:3] == ["claude", "-p", "do the task"]
    assert "--output-format" in command and "stream-json" in command and "--verbose" in command
    tree = harness.agentctl("runs", "show", summary["run_id"]).stdout
    assert "Write " in tree and "post-run check: blocked" in tree and "aws-s3-public-acl" in tree


def test_codex_run_is_recorded_and_its_diff_checked(harness: AgentHarness, server_factory) -> None:
    patch = (
        "*** Begin Patch\n*** Add File: k8s/debug.yaml\n"
        + "".join(f"+{line}\n" for line in PRIVILEGED_POD.splitlines())
        + "*** End Patch\n"
    )
    server = server_factory(
        [
            {"tool": "exec_command", "input": {"cmd": "mkdir -p k8s && echo ok"}},
            {"tool": "apply_patch", "input": patch},
            {"text": "Added a debug pod."},
        ]
    )
    result = harness.run(server, "codex", "--no-gate")
    assert result.code == 1, result.stderr
    summary = result.summary
    assert summary["status"] == "completed" and summary["agent"] == "codex"
    assert summary["model"] == "gpt-5.5"  # from $CODEX_HOME/config.toml
    assert summary["tool_calls"] == 2
    assert summary["usage"]["input_tokens"] > 0 and summary["cost_source"] == "gateway" and summary["cost_usd"] > 0
    assert summary["session_id"]
    rules = {f["rule_id"] for f in summary["check"]["findings"]}
    assert "k8s-privileged-container" in rules
    # codex exec got --json, and the model server saw the run
    assert server.main_loop_requests()
    events = harness.show(summary["run_id"])["events"]
    names = [e["tool_name"] for e in events if e["kind"] == "tool_start"]
    assert names == ["exec_command", "apply_patch"]


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_endless_identical_tool_call_trips_the_repeat_breaker(
    harness: AgentHarness, server_factory, agent: str
) -> None:
    call = (
        {"tool": "Bash", "input": {"command": "npm install", "description": "install"}}
        if agent == "claude"
        else {"tool": "exec_command", "input": {"cmd": "echo npm install"}}
    )
    server = server_factory([{"repeat": call}])
    started = time.monotonic()
    result = harness.run(server, agent, "--max-repeats", "3", "--grace", "2", timeout=90)
    assert result.code == 6, result.stderr
    assert result.summary["status"] == "breaker_tripped"
    assert "--max-repeats 3" in result.summary["stop_reason"]
    assert result.summary["tool_calls"] == 3
    assert time.monotonic() - started < 60
    events = harness.show(result.summary["run_id"])["events"]
    trip = [e for e in events if e["kind"] == "error" and e.get("raw_type") == "agentctl/breaker"]
    assert trip and trip[0]["data"]["limit"] == "max_repeats"


def test_cost_overrun_is_stopped_by_the_budget(harness: AgentHarness, server_factory) -> None:
    big_turn = {
        "tool": "Bash",
        "input": {"command": "cat big.log"},
        "usage": {"input_tokens": 150_000, "output_tokens": 2_000},
    }
    steps = [{**big_turn, "input": {"command": f"cat part{i}.log"}} for i in range(30)]
    server = server_factory(steps)
    result = harness.run(server, "claude", "--max-usd", "1", "--price", "claude-opus=3,15", "--grace", "2", timeout=90)
    assert result.code == 5, result.stderr
    summary = result.summary
    assert summary["status"] == "budget_exhausted"
    assert "--max-usd 1" in summary["stop_reason"]
    # 150k input tokens at $3/M is $0.45 a turn: the third request would cross $1, so the
    # gateway refuses it before it is sent and the run ends under the budget
    assert len(server.main_loop_requests()) == 2
    # a turn is a model response: the refused request is none, Claude Code's occasional side request is one
    assert summary["turns"] == len(server.requests)
    assert 0.9 < summary["cost_usd"] <= 1.0


def test_hanging_agent_is_stopped_by_the_idle_timeout(harness: AgentHarness, server_factory) -> None:
    server = server_factory([{"tool": "Bash", "input": {"command": "echo start"}}, {"hang": 120}])
    started = time.monotonic()
    # 20 s: a loaded CI machine can take several seconds to start Claude Code and run its first tool
    result = harness.run(server, "claude", "--idle-timeout", "20s", "--grace", "2", timeout=150)
    assert result.code == 5, result.stderr
    assert result.summary["status"] == "budget_exhausted"
    assert "--idle-timeout" in result.summary["stop_reason"]
    assert time.monotonic() - started < 100  # well before the 120 s hang ends by itself
    assert result.summary["tool_calls"] == 1  # what happened before the hang is on record


def test_agent_that_fails_is_exit_4(harness: AgentHarness, server_factory) -> None:
    server = server_factory([{"repeat": {"status": 400}}])
    result = harness.run(server, "claude", timeout=90)
    assert result.code == 4, result.stderr
    assert result.summary["status"] == "agent_failed"
    assert result.summary["stop_reason"]


def test_agent_killed_mid_run_is_exit_4_with_its_record(harness: AgentHarness, server_factory) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    server = server_factory([{"tool": "Bash", "input": {"command": "echo before"}}, {"hang": 120}])
    process = harness.start(server, "claude", "--json", "--grace", "2", prompt=marker)
    wait_for(lambda: len(server.main_loop_requests()) >= 2)
    for pid in agent_processes(marker):
        if str(process.pid) != pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 4, stderr
    summary = json.loads(stdout)
    assert summary["status"] == "agent_failed"
    assert summary["tool_calls"] == 1


def test_interrupting_agentctl_stops_the_agent_and_keeps_the_record(harness: AgentHarness, server_factory) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    server = server_factory([{"tool": "Bash", "input": {"command": "echo before"}}, {"hang": 120}])
    process = harness.start(server, "claude", "--json", "--grace", "2", prompt=marker)
    wait_for(lambda: len(server.main_loop_requests()) >= 2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    summary = json.loads(stdout)
    assert summary["status"] == "interrupted"
    assert summary["tool_calls"] == 1
    wait_for(lambda: not [p for p in agent_processes(marker) if p != str(process.pid)], timeout=15)


def test_sigkilled_agentctl_leaves_a_record_marked_interrupted(harness: AgentHarness, server_factory) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    server = server_factory([{"tool": "Bash", "input": {"command": "echo before"}}, {"hang": 120}])
    process = harness.start(server, "claude", "--grace", "2", prompt=marker)
    wait_for(lambda: len(server.main_loop_requests()) >= 2)
    process.kill()
    process.wait(timeout=30)
    listed = harness.agentctl("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    assert run["status"] == "interrupted"
    assert run["tool_calls"] == 1
    events = harness.show(run["run_id"])["events"]
    assert [e["tool_name"] for e in events if e["kind"] == "tool_start"] == ["Bash"]
    # the agent does not outlive agentctl
    wait_for(lambda: not [p for p in agent_processes(marker) if p != str(process.pid)], timeout=15)


def test_two_runs_at_once_in_one_repository(harness: AgentHarness, server_factory) -> None:
    def script(name: str) -> list[dict]:
        return [{"tool": "Bash", "input": {"command": f"echo {name}-{i}"}} for i in range(6)] + [
            {"text": f"{name} done"}
        ]

    servers = {"claude": server_factory(script("a")), "codex": server_factory(script("b"))}
    servers["codex"] = server_factory(
        [{"tool": "exec_command", "input": {"cmd": f"echo b-{i}"}} for i in range(6)] + [{"text": "b done"}]
    )
    processes = {agent: harness.start(server, agent, "--json") for agent, server in servers.items()}
    results = {agent: p.communicate(timeout=120) for agent, p in processes.items()}
    for agent, process in processes.items():
        assert process.returncode == 0, results[agent][1]
    summaries = {agent: json.loads(out) for agent, (out, _) in results.items()}
    assert {s["status"] for s in summaries.values()} == {"completed"}
    assert {s["tool_calls"] for s in summaries.values()} == {6}
    listed = json.loads(harness.agentctl("runs", "list", "--json").stdout)
    assert len(listed) == 2
    for summary in summaries.values():
        events = harness.show(summary["run_id"])["events"]
        starts = [e for e in events if e["kind"] == "tool_start"]
        ends = [e for e in events if e["kind"] == "tool_end"]
        assert len(starts) == len(ends) == 6


def test_secrets_in_prompts_and_tool_output_never_reach_the_store(harness: AgentHarness, server_factory) -> None:
    key = "AKIA" + "Z" * 16
    server = server_factory([{"tool": "Bash", "input": {"command": f"echo {key}"}}, {"text": "done"}])
    result = harness.run(server, "claude", prompt=f"use the key {key} and ghp_{'a' * 36}")
    assert result.code == 0, result.stderr
    database = (harness.repo.root / ".agentctl" / "agentctl.db").read_bytes()
    wal = harness.repo.root / ".agentctl" / "agentctl.db-wal"
    blob = database + (wal.read_bytes() if wal.exists() else b"")
    assert key.encode() not in blob
    assert b"ghp_" + b"a" * 36 not in blob
    assert b"[REDACTED]" in blob


def test_missing_agent_binary_is_a_usage_error(harness: AgentHarness) -> None:
    proc = harness.agentctl("run", "--agent", "claude", "--", "/nonexistent/claude", "-p", "hi")
    assert proc.returncode == 2
    assert "cannot start the agent" in proc.stderr and "hint:" in proc.stderr


def test_unknown_agent_is_a_usage_error(harness: AgentHarness) -> None:
    proc = harness.agentctl("run", "--", "aider", "--message", "hi")
    assert proc.returncode == 2
    assert "--agent" in proc.stderr


def test_model_server_stays_local(server_factory) -> None:
    server: ModelServer = server_factory([])
    assert server.url.startswith("http://127.0.0.1:")
