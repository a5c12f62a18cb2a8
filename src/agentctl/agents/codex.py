"""Codex (``codex exec``): ``--json`` JSONL events → ``AgentEvent``.

Codex reports token usage only when a turn completes and never a cost, so the
live budget works from those figures and a price table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agentctl.agents.base import Adapter
from agentctl.model.run import AgentEvent, EventKind, Usage

_TOOL_ITEMS = {
    "command_execution": "exec_command",
    "file_change": "apply_patch",
    "mcp_tool_call": "mcp",
    "web_search": "web_search",
}


class CodexAdapter(Adapter):
    name = "codex"
    provider = "openai"
    turns_from_requests = True

    def __init__(self) -> None:
        self.model: str | None = None
        self.metered = False
        """The gateway counts model responses; items then never stand for turns."""
        self._in_response = False
        """An item of the current model response was seen (no tool result since)."""
        self._open: set[Any] = set()
        """Tool items started and not completed yet."""

    def accounting(self, command: list[str], source: str) -> list[str]:
        self.metered = source == "gateway"
        return command

    def command(self, argv: list[str]) -> list[str]:
        out = list(argv)
        if "exec" not in out[1:3] and "e" not in out[1:2]:
            out.insert(1, "exec")
        index = next(i for i, a in enumerate(out) if a in ("exec", "e"))
        if "--json" not in out and "--experimental-json" not in out:
            out.insert(index + 1, "--json")
        for flag in ("-m", "--model"):
            if flag in out and out.index(flag) + 1 < len(out):
                self.model = out[out.index(flag) + 1]
        if self.model is None:
            self.model = configured_model()
        return out

    def gate(self, command: list[str], hook: str, workdir: Path, interactive: bool = False) -> list[str]:
        """Add our hook with a ``-c`` override for this invocation only.

        Codex runs a hook it does not manage only once its exact definition is
        trusted; ours is generated per run, so the run passes
        ``--dangerously-bypass-hook-trust`` (this invocation only; the user's
        config, trust records and auth stay untouched).
        """
        out = list(command)
        index = next(i for i, a in enumerate(out) if a in ("exec", "e"))
        quoted = json.dumps(hook)
        timeout = 600 if interactive else 60
        override = (
            f'hooks.PreToolUse=[{{matcher="*", hooks=[{{type="command", command={quoted}, timeout={timeout}}}]}}]'
        )
        extra = ["-c", override]
        if "--dangerously-bypass-hook-trust" not in out:
            extra.append("--dangerously-bypass-hook-trust")
        return [*out[: index + 1], *extra, *out[index + 1 :]]

    def parse(self, payload: dict[str, Any]) -> list[AgentEvent]:
        kind = str(payload.get("type"))
        at = time.time()
        if kind == "thread.started":
            return [
                AgentEvent(EventKind.SESSION, at, raw_type=kind, session_id=payload.get("thread_id"), model=self.model)
            ]
        if kind == "turn.started":
            self._in_response = False
            return [AgentEvent(EventKind.RAW, at, raw_type=kind)]
        if kind == "turn.completed":
            raw = payload.get("usage") or {}
            cached = int(raw.get("cached_input_tokens") or 0)
            usage = Usage(
                input_tokens=max(int(raw.get("input_tokens") or 0) - cached, 0),
                output_tokens=int(raw.get("output_tokens") or 0),
                cache_read_tokens=cached,
                cache_write_tokens=int(raw.get("cache_write_input_tokens") or 0),
            )
            return [AgentEvent(EventKind.RESULT, at, raw_type=kind, usage=usage, model=self.model)]
        if kind == "turn.failed":
            error = payload.get("error") or {}
            return [AgentEvent(EventKind.ERROR, at, raw_type=kind, ok=False, text=str(error.get("message", error)))]
        if kind == "error":
            message = str(payload.get("message", ""))
            retry = "reconnect" in message.lower() or "retry" in message.lower()
            return [
                AgentEvent(EventKind.API_RETRY if retry else EventKind.ERROR, at, raw_type=kind, ok=False, text=message)
            ]
        if kind in ("item.started", "item.completed", "item.updated"):
            return self._item(kind, payload.get("item") or {}, at)
        return [AgentEvent(EventKind.RAW, at, raw_type=kind, data={"payload": payload})]

    def _turn(self, kind: str, item_type: str, at: float) -> list[AgentEvent]:
        """A TURN for the first item of a model response (only when the gateway is not counting)."""
        if self.metered or self._in_response:
            return []
        self._in_response = True
        return [AgentEvent(EventKind.TURN, at, raw_type=f"{kind}/{item_type}", model=self.model)]

    def _item(self, kind: str, item: dict[str, Any], at: float) -> list[AgentEvent]:
        item_type = str(item.get("type"))
        item_id = item.get("id")
        if item_type == "agent_message" and kind == "item.completed":
            return [
                *self._turn(kind, item_type, at),
                AgentEvent(EventKind.MESSAGE, at, raw_type=f"{kind}/{item_type}", text=str(item.get("text", ""))),
            ]
        if item_type in _TOOL_ITEMS:
            name, tool_input = self._tool(item_type, item)
            if kind == "item.started":
                self._open.add(item_id)
                return [
                    *self._turn(kind, item_type, at),
                    AgentEvent(
                        EventKind.TOOL_START,
                        at,
                        raw_type=f"{kind}/{item_type}",
                        tool_id=item_id,
                        tool_name=name,
                        tool_input=tool_input,
                    ),
                ]
            if kind == "item.completed":
                exit_code = item.get("exit_code")
                # web_search items carry no status; a search that failed says so ("failed")
                ok = item.get("status") not in ("failed", "declined") and exit_code in (0, None)
                output = item.get("aggregated_output")
                if output is None and item_type == "mcp_tool_call":
                    output = str(item.get("result") or item.get("error") or "")
                events: list[AgentEvent] = []
                if item_type == "web_search" and item_id not in self._open:  # reported only once done
                    events = [*self._turn(kind, item_type, at), *self._start(item, at)]
                self._open.discard(item_id)
                self._in_response = False  # the tool's result goes back in the next model request
                return [
                    *events,
                    AgentEvent(
                        EventKind.TOOL_END,
                        at,
                        raw_type=f"{kind}/{item_type}",
                        tool_id=item_id,
                        tool_name=name,
                        tool_output=None if output is None else str(output),
                        ok=ok,
                        data={"exit_code": exit_code} if exit_code is not None else {},
                    ),
                ]
        if item_type == "error":
            message = str(item.get("message", ""))
            if message.lower().startswith("reconnecting"):
                return [AgentEvent(EventKind.API_RETRY, at, raw_type=f"{kind}/error", ok=False, text=message)]
            # Codex reports warnings as error items; a failed turn is turn.failed. Kept, not fatal.
            return [AgentEvent(EventKind.RAW, at, raw_type=f"{kind}/error", text=str(item.get("message", "")))]
        return [AgentEvent(EventKind.RAW, at, raw_type=f"{kind}/{item_type}", data={"item": item})]

    def _start(self, item: dict[str, Any], at: float) -> list[AgentEvent]:
        name, tool_input = self._tool(str(item.get("type")), item)
        return [
            AgentEvent(
                EventKind.TOOL_START,
                at,
                raw_type="item.completed/web_search",
                tool_id=item.get("id"),
                tool_name=name,
                tool_input=tool_input,
            )
        ]

    @staticmethod
    def _tool(item_type: str, item: dict[str, Any]) -> tuple[str, Any]:
        if item_type == "command_execution":
            return "exec_command", {"command": item.get("command")}
        if item_type == "file_change":
            return "apply_patch", {"changes": item.get("changes", [])}
        if item_type == "mcp_tool_call":
            # the name Codex gives the hook (PreToolUse tool_name), so gate decisions and spans agree
            return f"mcp__{item.get('server')}__{item.get('tool')}", item.get("arguments")
        return item_type, {k: v for k, v in item.items() if k not in ("id", "type", "status")}


def configured_model() -> str | None:
    """The ``model`` of Codex's own config ($CODEX_HOME/config.toml), if it names one."""
    import os
    import tomllib
    from pathlib import Path

    home = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")
    try:
        config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    model = config.get("model")
    return model if isinstance(model, str) else None
