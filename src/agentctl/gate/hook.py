"""``agentctl gate``: the PreToolUse hook Claude Code and Codex run before each tool call.

Inside ``agentctl run`` the agents call the even lighter ``gate/client.py``
directly; this entry point forwards to it when ``AGENTCTL_GATE_SOCKET`` is set.
Either way it fails closed: if the server cannot be reached, answers nonsense
or takes too long, the call is denied (an agent treats a crashing or timed-out
hook as "allow", so that must never happen).

Outside ``agentctl run`` (no ``AGENTCTL_GATE_SOCKET``) it judges the call
itself against ./policies and the built-in pack.
"""

from __future__ import annotations

import os
import sys

from agentctl.gate import client


def _judge_locally(agent: str, raw: str) -> bytes:
    from pathlib import Path

    from agentctl.gate.decide import Gatekeeper, hook_output, load_book
    from agentctl.policy import default_dirs

    root = Path(os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd())
    return hook_output(Gatekeeper(root, load_book(root, default_dirs(root))).decide_raw(raw, agent))


def main(argv: list[str]) -> int:
    agent = argv[argv.index("--agent") + 1] if "--agent" in argv[:-1] else "claude"
    path = os.environ.get("AGENTCTL_GATE_SOCKET")
    if path:
        return client.main(argv)
    try:
        raw = sys.stdin.buffer.read(client.MAX_PAYLOAD + 1)
        if len(raw) > client.MAX_PAYLOAD:
            raise ValueError("hook payload over 16 MiB")
        output = _judge_locally(agent, raw.decode("utf-8", errors="replace"))
    except Exception as exc:  # fail closed on anything
        reason = f"agentctl gate failed ({type(exc).__name__}: {exc}); denying this tool call (fail closed)"
        output = client.deny_output(reason)
        sys.stderr.write(reason + "\n")
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0
