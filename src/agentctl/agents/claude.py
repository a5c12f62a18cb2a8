"""Claude Code (``claude -p``): stream-json events → ``AgentEvent``.

Claude Code reports token usage per assistant message (from ``message_start``,
so output tokens are provisional) and the authoritative ``total_cost_usd`` only
in its final ``result`` event.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agentctl.agents.base import Adapter, AgentError, text_of
from agentctl.model.run import AgentEvent, EventKind, Usage

PARTIAL_STEP = 500
"""Streamed output tokens per live usage increment (fewer events than one per delta)."""


_QUIET_STREAM_EVENTS = frozenset({"content_block_start", "content_block_stop", "message_stop", "ping"})


def _timestamp(payload: dict[str, Any]) -> float:
    stamp = payload.get("timestamp")
    if isinstance(stamp, str):
        from datetime import datetime

        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time()


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cache_read_tokens=int(raw.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(raw.get("cache_creation_input_tokens") or 0),
    )


def _load_settings(value: str) -> dict[str, Any]:
    """``--settings`` takes a JSON string or a file path."""
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise AgentError(
                f"cannot read --settings {value}: {exc.strerror}", "pass an existing settings file"
            ) from None
    try:
        loaded = json.loads(text)
    except ValueError:
        raise AgentError(f"--settings {value} is not valid JSON", "fix the settings file") from None
    if not isinstance(loaded, dict):
        raise AgentError(f"--settings {value} is not a JSON object", "fix the settings file")
    return loaded


class ClaudeAdapter(Adapter):
    name = "claude"
    provider = "anthropic"

    def __init__(self) -> None:
        self._last_message: str | None = None
        """Claude Code repeats an assistant message once per content block; they arrive together."""
        self._partial = 0
        """Output tokens of the current streamed message counted so far (``--include-partial-messages``)."""
        self._reported = 0
        """Of those, already handed on as usage increments."""

    def accounting(self, command: list[str], source: str) -> list[str]:
        """Without the gateway, stream events make output tokens live (not 1 per message until the end)."""
        if source == "gateway" or "--include-partial-messages" in command:
            return command
        return [*command, "--include-partial-messages"]

    def command(self, argv: list[str]) -> list[str]:
        out = list(argv)
        if not any(a in ("-p", "--print") for a in out):
            out.insert(1, "-p")
        if not any(a == "--output-format" or a.startswith("--output-format=") for a in out):
            out += ["--output-format", "stream-json"]
        if "--verbose" not in out:
            out.append("--verbose")
        return out

    def gate(self, command: list[str], hook: str, workdir: Path, interactive: bool = False) -> list[str]:
        """Add our hook through ``--settings``, merged into the user's own ``--settings`` if any.

        Claude Code combines hooks from every settings source, so the user's and
        the project's own hooks keep running next to ours.
        """
        out = list(command)
        settings: dict[str, Any] = {}
        for flag_index, arg in enumerate(out):
            if arg == "--settings" and flag_index + 1 < len(out):
                settings = _load_settings(out[flag_index + 1])
                del out[flag_index : flag_index + 2]
                break
            if arg.startswith("--settings="):
                settings = _load_settings(arg.split("=", 1)[1])
                del out[flag_index]
                break
        hooks = settings.setdefault("hooks", {})
        pre = hooks.setdefault("PreToolUse", [])
        pre.append(
            {"matcher": "*", "hooks": [{"type": "command", "command": hook, "timeout": 600 if interactive else 60}]}
        )
        # After each tool: IaC written past the pre-check (a heredoc, a script) is judged and the model told.
        post = hooks.setdefault("PostToolUse", [])
        post.append({"matcher": "*", "hooks": [{"type": "command", "command": f"{hook} --post", "timeout": 60}]})
        path = workdir / "claude-settings.json"
        path.write_text(json.dumps(settings, indent=2), encoding="utf-8")
        return [*out, "--settings", str(path)]

    def parse(self, payload: dict[str, Any]) -> list[AgentEvent]:
        kind = payload.get("type")
        at = _timestamp(payload)
        session = payload.get("session_id")
        if kind == "system":
            subtype = payload.get("subtype")
            if subtype == "init":
                return [
                    AgentEvent(
                        EventKind.SESSION,
                        at,
                        raw_type="system/init",
                        session_id=session,
                        model=payload.get("model"),
                        data={
                            "tools": payload.get("tools", []),
                            "cwd": payload.get("cwd"),
                            "version": payload.get("claude_code_version"),
                        },
                    )
                ]
            if subtype == "api_retry":
                detail = {
                    k: payload.get(k) for k in ("attempt", "max_retries", "retry_delay_ms", "error_status", "error")
                }
                return [AgentEvent(EventKind.API_RETRY, at, raw_type="system/api_retry", ok=False, data=detail)]
            return [AgentEvent(EventKind.RAW, at, raw_type=f"system/{subtype}", data={"payload": payload})]
        if kind == "stream_event":
            events = self._stream_event(payload.get("event") or {}, at, session)
            if events is None:  # a stream event this version does not know: kept as it came
                return [AgentEvent(EventKind.RAW, at, raw_type="stream_event", data={"payload": payload})]
            return events
        if kind == "assistant":
            return self._assistant(payload, at, session)
        if kind == "user":
            return self._tool_results(payload, at)
        if kind == "result":
            is_error = bool(payload.get("is_error")) or payload.get("subtype") != "success"
            return [
                AgentEvent(
                    EventKind.RESULT,
                    at,
                    raw_type=f"result/{payload.get('subtype')}",
                    session_id=session,
                    usage=_usage(payload.get("usage")),
                    cost_usd=payload.get("total_cost_usd"),
                    num_turns=payload.get("num_turns"),
                    text=str(payload.get("result") or "")[:4000] or None,
                    ok=not is_error,
                    data={
                        "permission_denials": payload.get("permission_denials", []),
                        "stop_reason": payload.get("stop_reason"),
                        "duration_ms": payload.get("duration_ms"),
                        "api_error_status": payload.get("api_error_status"),
                    },
                )
            ]
        return [AgentEvent(EventKind.RAW, at, raw_type=str(kind), data={"payload": payload})]

    def _assistant(self, payload: dict[str, Any], at: float, session: Any) -> list[AgentEvent]:
        message = payload.get("message") or {}
        events: list[AgentEvent] = []
        message_id = str(message.get("id") or "")
        if message_id != self._last_message:
            self._last_message = message_id
            events.append(
                AgentEvent(
                    EventKind.TURN,
                    at,
                    raw_type="assistant",
                    session_id=session,
                    model=message.get("model"),
                    usage=_usage(message.get("usage")),
                    data={
                        "message_id": message_id,
                        "stop_reason": message.get("stop_reason"),
                        "parent_tool_use_id": payload.get("parent_tool_use_id"),
                    },
                )
            )
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and block.get("text"):
                events.append(AgentEvent(EventKind.MESSAGE, at, raw_type="assistant/text", text=str(block["text"])))
            elif block.get("type") == "tool_use":
                events.append(
                    AgentEvent(
                        EventKind.TOOL_START,
                        at,
                        raw_type="assistant/tool_use",
                        tool_id=block.get("id"),
                        tool_name=block.get("name"),
                        tool_input=block.get("input"),
                        data={"parent_tool_use_id": payload.get("parent_tool_use_id")}
                        if payload.get("parent_tool_use_id")
                        else {},
                    )
                )
        return events

    def _stream_event(self, event: dict[str, Any], at: float, session: Any) -> list[AgentEvent] | None:
        """A raw API stream event: the turn's input at its start, output tokens as they stream."""
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._last_message = str(message.get("id") or "")
            self._partial = self._reported = 0
            usage = _usage(message.get("usage")) or Usage()
            self._partial = self._reported = usage.output_tokens
            return [
                AgentEvent(
                    EventKind.TURN,
                    at,
                    raw_type="stream_event/message_start",
                    session_id=session,
                    model=message.get("model"),
                    usage=usage,
                    data={"message_id": self._last_message},
                )
            ]
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            text = delta.get("text") or delta.get("partial_json") or delta.get("thinking") or ""
            self._partial += max(1, len(str(text)) // 4)
            if self._partial - self._reported < PARTIAL_STEP:
                return []
        elif kind == "message_delta":
            final = (event.get("usage") or {}).get("output_tokens")
            if isinstance(final, int):
                self._partial = final
        elif kind in _QUIET_STREAM_EVENTS:
            return []
        else:
            return None
        increment = self._partial - self._reported
        self._reported = self._partial
        return [AgentEvent(EventKind.RAW, at, raw_type="stream_event/usage", usage=Usage(output_tokens=increment))]

    def _tool_results(self, payload: dict[str, Any], at: float) -> list[AgentEvent]:
        message = payload.get("message") or {}
        content = message.get("content")
        events = []
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                events.append(
                    AgentEvent(
                        EventKind.TOOL_END,
                        at,
                        raw_type="user/tool_result",
                        tool_id=block.get("tool_use_id"),
                        tool_output=text_of(block.get("content")),
                        ok=not block.get("is_error", False),
                    )
                )
        return events or [AgentEvent(EventKind.RAW, at, raw_type="user", data={"payload": payload})]
