"""Which adapter runs a given command."""

from __future__ import annotations

import os

from agentctl.agents.base import Adapter, AgentError
from agentctl.agents.claude import ClaudeAdapter
from agentctl.agents.codex import CodexAdapter

ADAPTERS: dict[str, type[Adapter]] = {"claude": ClaudeAdapter, "codex": CodexAdapter}


def detect(argv: list[str], explicit: str | None = None) -> Adapter:
    if not argv:
        raise AgentError(
            "no agent command given", 'usage: agentctl run [OPTIONS] -- claude -p "…"  (or -- codex exec "…")'
        )
    name = explicit or os.path.basename(argv[0]).removesuffix(".js").removesuffix(".cmd")
    if name not in ADAPTERS:
        raise AgentError(
            f"cannot tell which agent '{argv[0]}' is",
            f"pass --agent {' or --agent '.join(ADAPTERS)} (supported: Claude Code, Codex)",
        )
    return ADAPTERS[name]()
