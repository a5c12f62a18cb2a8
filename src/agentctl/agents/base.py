"""The adapter interface every supported agent implements."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from agentctl.errors import AgentctlError
from agentctl.model.run import AgentEvent, EventKind


class AgentError(AgentctlError):
    """The command cannot be run as the requested agent (exit 2)."""


class Adapter(ABC):
    """Knows one agent's flags and event stream. Stateful: one instance per run."""

    name: str
    provider: str
    """``gen_ai.provider.name``: ``anthropic`` or ``openai``."""
    turns_from_requests = False
    """With the model gateway on, a turn is a model response the gateway saw (not an agent event)."""

    def accounting(self, command: list[str], source: str) -> list[str]:
        """``command`` adjusted for how usage is counted: ``gateway`` or ``agent-stream``."""
        return command

    @abstractmethod
    def command(self, argv: list[str]) -> list[str]:
        """The user's command plus what agentctl needs (machine-readable stream)."""

    @abstractmethod
    def gate(self, command: list[str], hook: str, workdir: Path, interactive: bool = False) -> list[str]:
        """``command`` with the PreToolUse hook ``hook`` (a shell command) wired in."""

    @abstractmethod
    def parse(self, payload: dict[str, Any]) -> list[AgentEvent]:
        """Normalised events for one decoded line of the agent's stream."""

    def feed(self, line: str) -> list[AgentEvent]:
        """Events for one raw output line; non-JSON lines are kept, never fatal."""
        line = line.strip()
        if not line:
            return []
        try:
            payload = json.loads(line)
        except ValueError:
            return [AgentEvent(EventKind.RAW, time.time(), raw_type="text", text=line[:4000])]
        if not isinstance(payload, dict):
            return [AgentEvent(EventKind.RAW, time.time(), raw_type="json", data={"value": payload})]
        try:
            return self.parse(payload)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return [
                AgentEvent(
                    EventKind.RAW,
                    time.time(),
                    raw_type=str(payload.get("type", "?")),
                    data={"payload": payload, "adapter_error": str(exc)},
                )
            ]


def text_of(content: Any) -> str:
    """Flatten a tool result's content (string, or list of text blocks) into text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(item.get("text", "")) if isinstance(item, dict) else str(item) for item in content)
    return "" if content is None else json.dumps(content)
