"""Codex payloads whose shape hides what runs: every runnable field is judged, and what cannot be read is denied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentctl.gate.decide import Gatekeeper, load_book

PATCH = "*** Begin Patch\n*** Add File: policies/x.yaml\n+x\n*** End Patch\n"


@pytest.fixture
def keeper(tmp_path: Path) -> Gatekeeper:
    (tmp_path / "docs").mkdir()
    return Gatekeeper(tmp_path, load_book(tmp_path, []))


def decide(keeper: Gatekeeper, tool: str, tool_input: dict[str, Any]) -> tuple[str, list[str], str]:
    decision = keeper.decide({"tool_name": tool, "tool_input": tool_input, "cwd": str(keeper.root)}, "codex")
    return decision.decision, sorted({f.rule_id for f in decision.findings}), decision.reason


@pytest.mark.parametrize(
    "tool_input",
    [
        {"input": "*** Begin Patch\n***Add File: policies/x.yaml\n+x\n*** End Patch\n"},  # a header Codex rejects
        {"input": "not a patch at all"},
        {"command": "git status", "patch": PATCH},  # one field is no patch: the call is not what it seems
    ],
)
def test_a_patch_the_gate_cannot_read_is_denied_with_a_reason(keeper: Gatekeeper, tool_input: dict[str, Any]) -> None:
    decision, _, reason = decide(keeper, "apply_patch", tool_input)
    assert decision == "deny"
    assert "cannot judge this apply_patch call" in reason


def test_local_shell_running_apply_patch_is_judged_as_the_patch(keeper: Gatekeeper) -> None:
    decision, rules, _ = decide(keeper, "local_shell", {"action": {"type": "exec", "command": ["apply_patch", PATCH]}})
    assert (decision, rules) == ("deny", ["tool-write-protected-path"])
    harmless = PATCH.replace("policies/x.yaml", "docs/x.md")
    action = {"type": "exec", "command": ["apply_patch", harmless]}
    assert decide(keeper, "local_shell", {"action": action})[0] == "allow"


def test_a_shell_the_gate_does_not_parse_makes_the_command_opaque(keeper: Gatekeeper) -> None:
    assert decide(keeper, "exec_command", {"cmd": "git status", "shell": ["python3"]})[1] == ["tool-opaque-command"]
    assert decide(keeper, "exec_command", {"cmd": "git status", "shell": "zsh"})[0] == "allow"
