"""Tripwires, live: a tool that ran without a gate decision, or a change to the protected set,
ends the run (exit 4) with the tool and the paths named — with the real Claude Code and Codex."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import pytest

from tests.agents.conftest import AgentHarness
from tests.agents.test_export import by_name, otel_env
from tests.agents.test_export import phoenix as phoenix  # the session's Phoenix receiver
from tests.agents.test_gate import shell_call, write_call
from tests.conftest import agentctl_binary

BASE_POLICY = """apiVersion: agentctl/v1
kind: PolicySet
metadata:
  name: base
rules:
  - id: no-curl-pipe
    title: No curl piped into a shell
    severity: high
    action: deny
    target: tool
    condition: tool.command.contains("curl") && tool.command.contains("| sh")
    message: curl piped into a shell
"""


def sandbox_off(harness: AgentHarness) -> list[str]:
    """``--sandbox off`` once ``agentctl run`` has a sandbox (these tests write what it would make read-only)."""
    return ["--sandbox", "off"] if "--sandbox" in harness.agentctl("run", "--help").stdout else []


def run_with(harness: AgentHarness, env: dict[str, str], command: list[str], *options: str) -> tuple[int, Any, str]:
    proc = subprocess.run(
        [agentctl_binary(), "run", "--json", *options, "--", *command],
        cwd=harness.repo.root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    summary = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc.returncode, summary, proc.stderr


def tripwire_events(harness: AgentHarness, run_id: str, status: str) -> list[dict[str, Any]]:
    return [e for e in harness.show(run_id)["events"] if e.get("raw_type") == f"agentctl/{status}"]


def test_claude_with_hooks_switched_off_is_gate_bypassed(harness: AgentHarness, server_factory) -> None:
    root = harness.repo.root
    settings = harness.home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"disableAllHooks": True}))  # an earlier run's tampering
    server = server_factory(
        [shell_call("claude", "echo ran > ran.txt"), shell_call("claude", "echo second > second.txt"), {"text": "ok"}]
    )
    code, summary, stderr = run_with(harness, harness.env(server), harness.command("claude", "go"))
    assert code == 4, stderr
    assert summary["status"] == "gate_bypassed", summary["stop_reason"]
    assert "Bash" in summary["stop_reason"] and "without a gate decision" in summary["stop_reason"]
    assert (root / "ran.txt").exists()  # it did run: that is what the tripwire reports
    [event] = tripwire_events(harness, summary["run_id"], "gate_bypassed")
    assert event["tool_name"] == "Bash" and event["tool_id"] == "toolu_0001"
    shown = harness.agentctl("runs", "show", summary["run_id"]).stdout
    assert "gate_bypassed" in shown
    listed = harness.agentctl("runs", "list").stdout
    assert "gate_bypassed" in listed


def test_a_bypass_is_in_the_trace(harness: AgentHarness, server_factory, phoenix) -> None:  # type: ignore[no-untyped-def]
    settings = harness.home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"disableAllHooks": True}))
    server = server_factory([shell_call("claude", "echo ran > ran.txt"), {"text": "ok"}])
    project = f"tripwire-{uuid.uuid4().hex[:8]}"
    env = {**harness.env(server), **otel_env(phoenix.http, project)}
    code, _, stderr = run_with(harness, env, harness.command("claude", "go"))
    assert code == 4, stderr
    names = by_name(phoenix.spans(project, expected=1 + 2 + 1))
    [root_span] = names["invoke_agent claude"]
    assert root_span["attributes"]["agentctl.tripwire"] == "gate_bypassed"
    assert root_span["attributes"]["agentctl.tripwire.tool"] == "Bash"
    assert root_span["attributes"]["agentctl.run.status"] == "gate_bypassed"
    [tool] = names["execute_tool Bash"]
    [event] = [e for e in tool["events"] if e["name"] == "agentctl.tripwire"]
    assert event["attributes"]["agentctl.tripwire"] == "gate_bypassed"


def test_codex_with_hooks_switched_off_is_gate_bypassed(harness: AgentHarness, server_factory) -> None:
    server = server_factory([shell_call("codex", "echo ran > ran.txt"), {"text": "ok"}])
    env = harness.env(server)
    config = harness.tmp / f"codex-home-{id(server)}" / "config.toml"
    config.write_text(config.read_text() + "\n[features]\nhooks = false\ncodex_hooks = false\n")
    code, summary, stderr = run_with(harness, env, harness.command("codex", "go"))
    assert code == 4, stderr
    assert summary["status"] == "gate_bypassed", summary
    assert "exec_command" in summary["stop_reason"]
    [event] = tripwire_events(harness, summary["run_id"], "gate_bypassed")
    assert event["tool_name"] == "exec_command"


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_gated_runs_with_ordinary_work_trip_nothing(harness: AgentHarness, server_factory, agent: str) -> None:
    root = harness.repo.root
    server = server_factory(
        [
            write_call(agent, root, "app.py", "print('hi')\n"),
            shell_call(agent, "python3 app.py > out.txt && git status --short"),
            shell_call(agent, "terraform destroy -auto-approve"),  # denied: a decision, not a bypass
            {"text": "done"},
        ]
    )
    result = harness.run(server, agent)
    assert result.code == 0, result.stderr
    assert result.summary["status"] == "completed"
    assert (root / "out.txt").read_text() == "hi\n"


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_writing_a_policy_file_from_a_script_is_tamper_detected(
    harness: AgentHarness, server_factory, agent: str
) -> None:
    root = harness.repo.root
    harness.repo.write("policies/base.yaml", BASE_POLICY)
    harness.repo.commit("policies")
    script = "import pathlib\npathlib.Path('policies', 'x.yaml').write_text('rules: []\\n')\n"
    server = server_factory(
        [
            write_call(agent, root, "tools/fix.py", script),
            shell_call(agent, "python3 tools/fix.py"),
            shell_call(agent, "echo after > after.txt"),
            {"text": "done"},
        ]
    )
    result = harness.run(server, agent, *sandbox_off(harness))
    assert result.code == 4, result.stderr
    assert result.summary["status"] == "tamper_detected"
    assert "policies/x.yaml" in result.summary["stop_reason"]
    assert (root / "policies" / "x.yaml").read_text() == "rules: []\n"  # left as the agent left it, but reported
    assert not (root / "after.txt").exists()  # the run stopped before the next call
    [event] = tripwire_events(harness, result.summary["run_id"], "tamper_detected")
    assert str(root / "policies" / "x.yaml") in event["data"]["paths"]


GPU_POOL = """resource "aws_eks_node_group" "train" {
  cluster_name    = "dev"
  node_group_name = "train"
  instance_types  = ["g5.12xlarge"]
  scaling_config {
    desired_size = 12
    max_size     = 12
    min_size     = 12
  }
}
"""
CPU_POOL = GPU_POOL.replace("g5.12xlarge", "m6i.large")
GEN_SCRIPT = (
    "import pathlib\n"
    "target = pathlib.Path('envs', 'dev', 'gpu.tf')\n"
    "target.parent.mkdir(parents=True, exist_ok=True)\n"
    f"target.write_text({GPU_POOL!r})\n"
)


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_iac_written_past_the_pre_check_stops_the_next_call(harness: AgentHarness, server_factory, agent: str) -> None:
    root = harness.repo.root
    harness.repo.write("envs/dev/gpu.tf", CPU_POOL)
    harness.repo.commit("a CPU node group")
    server = server_factory(
        [
            write_call(agent, root, "tools/gen.py", GEN_SCRIPT),
            shell_call(agent, "python3 tools/gen.py"),  # the gate cannot see what the script writes
            shell_call(agent, "echo next > next.txt"),  # denied: the GPU pool is on disk
            shell_call(agent, "git checkout -- envs/dev/gpu.tf"),  # the repair is allowed while blocked
            shell_call(agent, "echo after > after.txt"),  # the block is lifted
            {"text": "done"},
        ]
    )
    result = harness.run(server, agent)
    assert result.code == 0, result.stderr
    assert not (root / "next.txt").exists()
    assert (root / "envs" / "dev" / "gpu.tf").read_text() == CPU_POOL
    assert (root / "after.txt").read_text() == "after\n"

    events = harness.show(result.summary["run_id"])["events"]
    verifies = [e for e in events if e.get("raw_type") == "agentctl/verify"]
    assert [v["data"]["decision"] for v in verifies] == ["deny", "clear"]
    [finding] = verifies[0]["data"]["findings"]
    assert finding["rule_id"] == "gpu-instance-outside-production"
    assert finding["path"] == "envs/dev/gpu.tf" and finding["line"] == 1
    denied = [e for e in events if e.get("raw_type") == "agentctl/gate" and e["data"]["decision"] == "deny"]
    assert len(denied) == 1 and "envs/dev/gpu.tf:1" in denied[0]["text"]

    # the agent was told why, naming rule, file and line
    requests = [json.dumps(r["body"]) for r in server.main_loop_requests()]
    told = next(i for i, body in enumerate(requests) if "gpu-instance-outside-production" in body)
    if agent == "claude":
        assert told == 2  # the request right after the script ran: PostToolUse feedback
    else:
        assert told == 3  # the request after the next call was denied
    assert "envs/dev/gpu.tf:1" in requests[told]


def test_bash_heredoc_gpu_tf_is_stopped_at_the_next_call_at_the_latest(harness: AgentHarness, server_factory) -> None:
    root = harness.repo.root
    server = server_factory(
        [
            shell_call("claude", f"mkdir -p envs/dev && cat > envs/dev/gpu.tf <<'EOF'\n{GPU_POOL}EOF"),
            shell_call("claude", "echo next > next.txt"),
            {"text": "done"},
        ]
    )
    result = harness.run(server, "claude")
    written = (root / "envs" / "dev" / "gpu.tf").exists()
    assert not written or not (root / "next.txt").exists()
    told = json.dumps([r["body"] for r in server.main_loop_requests()])
    # Stopped before it runs (the shell parse sees the heredoc) or, at the latest, at the next call.
    assert "gpu-instance-outside-production" in told or "tool-shell-writes-iac" in told
    if written:  # left behind: the post-run check judges it too
        assert result.code == 3, result.stderr


def _session_id(body: dict[str, Any]) -> int:
    """The id of the tty session Codex reported in its last exec_command output."""
    import re

    outputs = [str(i.get("output")) for i in body.get("input", []) if i.get("type") == "function_call_output"]
    found = re.findall(r"session ID (\d+)", "\n".join(outputs))
    return int(found[-1]) if found else 0


def test_codex_write_stdin_to_a_tty_shell_cannot_change_policies_unnoticed(
    harness: AgentHarness, server_factory
) -> None:
    """Codex runs no hook for ``write_stdin``: whatever it does there, a protected change ends the run."""
    root = harness.repo.root
    harness.repo.write("policies/base.yaml", BASE_POLICY)
    harness.repo.commit("policies")
    write = "python3 -c \"open('policies/x.yaml','w').write('rules: []')\"\n"
    server = server_factory(
        [
            {"tool": "exec_command", "input": {"cmd": "bash", "tty": True, "yield_time_ms": 1000}},
            {
                "tool": "write_stdin",
                "input": lambda body: {"session_id": _session_id(body), "chars": write, "yield_time_ms": 2000},
            },
            shell_call("codex", "echo after > after.txt"),
            {"text": "done"},
        ]
    )
    result = harness.run(server, "codex", *sandbox_off(harness))
    if (root / "policies" / "x.yaml").exists():
        assert result.code == 4, result.stderr
        assert result.summary["status"] == "tamper_detected"
        assert "policies/x.yaml" in result.summary["stop_reason"]
    else:  # the tty session was refused before it could happen: the record says so
        events = harness.show(result.summary["run_id"])["events"]
        assert any(e.get("raw_type") == "agentctl/gate" and e["data"]["decision"] == "deny" for e in events)
