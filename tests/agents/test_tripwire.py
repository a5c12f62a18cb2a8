"""Tripwires, live: a tool that ran without a gate decision, or a change to the protected set,
ends the run (exit 4) with the tool and the paths named — with the real Claude Code and Codex."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.agents.conftest import AgentHarness
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
