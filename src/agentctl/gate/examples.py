"""Run a tool rule against one of its own ``examples`` (checked when a policy loads).

An example is shell text (judged as a Claude ``Bash`` call) or a mapping
``{tool: NAME, input: {...}}``; relative paths are taken inside a scratch
repository root that does not exist, so an example never depends on the files
of the machine that loads the policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentctl.engine import cel

EXAMPLE_ROOT = Path("/nonexistent/agentctl-example-repo")


def payload(example: Any) -> dict[str, Any]:
    if isinstance(example, str):
        return {"tool_name": "Bash", "tool_input": {"command": example}, "cwd": str(EXAMPLE_ROOT)}
    if isinstance(example, dict) and isinstance(example.get("tool"), str):
        extra = set(example) - {"tool", "input"}
        if extra:
            raise ValueError(f"unknown key '{sorted(extra)[0]}' in an example (expected tool, input)")
        tool_input = example.get("input", {})
        if isinstance(tool_input, str):
            tool_input = {"command": tool_input}
        return {"tool_name": example["tool"], "tool_input": tool_input, "cwd": str(EXAMPLE_ROOT)}
    raise ValueError("an example is shell text or a mapping {tool: NAME, input: {...}}")


def fires(compiled: Any, example: Any) -> bool:
    """Whether ``compiled`` (a tool rule) fires on ``example``."""
    from agentctl.gate.decide import _matches
    from agentctl.gate.toolcall import PayloadError, normalise

    try:
        call = normalise(payload(example), "claude", EXAMPLE_ROOT)
    except PayloadError as exc:
        raise ValueError(f"example is not a valid tool call: {exc}") from None
    if not _matches(compiled, call):
        return False
    context = cel.context({"tool": call.as_cel(), "path": call.paths[0] if call.paths else ""})
    try:
        return compiled.program.execute(context) is True
    except Exception as exc:
        raise ValueError(f"condition fails on the example: {exc}") from None
