"""Token accounting read from the provider's own response stream, as it passes through.

The bytes go to the agent unchanged; these meters only look. Events that carry
usage (Anthropic ``message_start`` / ``message_delta``, OpenAI
``response.created`` / ``response.completed``) are decoded; content deltas are
only measured (about four bytes of text per token) for a live estimate of the
output tokens until the provider's final figure arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

BYTES_PER_TOKEN = 4
"""Rough size of one output token in a delta's JSON text: the live estimate only."""
DELTA_OVERHEAD = 80
"""Bytes of JSON framing around a delta's text (event name, type, index)."""
OUTPUT_LIMIT = 4096
"""Characters of captured output kept per content block."""
EVENT_LIMIT = 8 << 20
"""A single SSE event larger than this is not decoded (the bytes still pass)."""


@dataclass
class Reading:
    """What one model request's response said about itself."""

    response_model: str | None = None
    response_id: str | None = None
    input_tokens: int = 0
    """Uncached input tokens (Anthropic's ``input_tokens``; OpenAI's less the cached)."""
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    estimated_output: int = 0
    """Output tokens counted from deltas so far (until ``final``)."""
    final: bool = False
    """The provider's closing usage arrived."""
    started: bool = False
    """The input figures are known (``message_start``)."""
    stop_reason: str | None = None
    error_type: str | None = None
    output: list[dict[str, Any]] | None = None
    """The answer's content blocks / output items (content capture only), each cut to OUTPUT_LIMIT."""

    @property
    def live_output(self) -> int:
        return self.output_tokens if self.final else max(self.output_tokens, self.estimated_output)


class SSEMeter:
    """Splits an SSE byte stream into events and hands the interesting ones to ``_event``."""

    def __init__(self, capture: bool = False) -> None:
        self.reading = Reading(output=[] if capture else None)
        self._buffer = b""

    def feed(self, chunk: bytes) -> None:
        data = self._buffer + chunk if self._buffer else chunk
        held = b""
        if b"\r" in data:
            # SSE lines may end in CRLF or a lone CR too; a CR at the end may be half of a CRLF still to come
            if data.endswith(b"\r"):
                data, held = data[:-1], b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = data.rfind(b"\n\n")
        if end < 0:
            self._buffer = data + held if len(data) <= EVENT_LIMIT else b""
            return
        self._buffer = data[end + 2 :] + held
        for block in data[:end].split(b"\n\n"):
            self._block(block)

    def close(self) -> None:
        if self._buffer.strip():
            self._block(self._buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        self._buffer = b""

    def _block(self, block: bytes) -> None:
        name = b""
        payload = b""
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip()
            elif line.startswith(b"data:"):
                payload = line[5:].strip()
        if not name and payload.startswith(b"{"):
            # OpenAI-compatible servers may omit ``event:``; the type is in the data.
            start = payload.find(b'"type"')
            if start >= 0:
                quote = payload.find(b'"', payload.find(b":", start) + 1)
                name = payload[quote + 1 : payload.find(b'"', quote + 1)]
        self._event(name, payload)

    def _event(self, name: bytes, payload: bytes) -> None:
        raise NotImplementedError

    def body(self, raw: bytes) -> None:
        """A non-streaming JSON response."""
        raise NotImplementedError


def _json(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _cut(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v[:OUTPUT_LIMIT] if isinstance(v, str) else v for k, v in item.items()}


def _delta_tokens(payload: bytes) -> int:
    return max(1, (len(payload) - DELTA_OVERHEAD) // BYTES_PER_TOKEN)


class AnthropicMeter(SSEMeter):
    """Anthropic Messages: ``message_start`` (input, cache), ``message_delta`` (cumulative output)."""

    def _event(self, name: bytes, payload: bytes) -> None:
        reading = self.reading
        if name == b"content_block_delta":
            reading.estimated_output += _delta_tokens(payload)
            if reading.output is not None:
                self._capture_delta(_json(payload))
        elif name == b"content_block_start" and reading.output is not None:
            block = _json(payload).get("content_block")
            if isinstance(block, dict):
                reading.output.append({k: v for k, v in block.items() if k in ("type", "id", "name", "text")})
        elif name == b"message_start":
            message = _json(payload).get("message") or {}
            reading.response_model = message.get("model")
            reading.response_id = message.get("id")
            usage = message.get("usage") or {}
            self._usage(usage)
            reading.started = "input_tokens" in usage  # no figures: the input stays an estimate
        elif name == b"message_delta":
            data = _json(payload)
            usage = data.get("usage") or {}
            self._usage(usage)
            reason = (data.get("delta") or {}).get("stop_reason")
            if reason:
                reading.stop_reason = str(reason)
            reading.final = reading.final or "output_tokens" in usage  # the closing figure, when it is there
        elif name == b"error":
            error = _json(payload).get("error") or {}
            reading.error_type = str(error.get("type") or "error")

    def _capture_delta(self, data: dict[str, Any]) -> None:
        output = self.reading.output
        delta = data.get("delta") or {}
        if not output or not isinstance(delta, dict):
            return
        block = output[-1]
        for source, target in (("text", "text"), ("thinking", "thinking"), ("partial_json", "input")):
            piece = delta.get(source)
            if isinstance(piece, str):
                current = str(block.get(target) or "")
                if len(current) < OUTPUT_LIMIT:
                    block[target] = (current + piece)[:OUTPUT_LIMIT]

    def _usage(self, usage: dict[str, Any]) -> None:
        reading = self.reading
        if "input_tokens" in usage:
            reading.input_tokens = _int(usage["input_tokens"])
        if "output_tokens" in usage:
            reading.output_tokens = _int(usage["output_tokens"])
        if "cache_read_input_tokens" in usage:
            reading.cache_read_tokens = _int(usage["cache_read_input_tokens"])
        if "cache_creation_input_tokens" in usage:
            reading.cache_write_tokens = _int(usage["cache_creation_input_tokens"])

    def body(self, raw: bytes) -> None:
        data = _json(raw)
        reading = self.reading
        if data.get("type") == "error":
            reading.error_type = str((data.get("error") or {}).get("type") or "error")
            return
        if "usage" not in data:
            return
        reading.response_model = data.get("model")
        reading.response_id = data.get("id")
        reading.stop_reason = data.get("stop_reason")
        self._usage(data.get("usage") or {})
        reading.started = reading.final = True


_OPENAI_DELTAS = (
    b"response.output_text.delta",
    b"response.function_call_arguments.delta",
    b"response.custom_tool_call_input.delta",
    b"response.reasoning_summary_text.delta",
    b"response.reasoning_text.delta",
    b"response.refusal.delta",
)
_OPENAI_FINAL = (b"response.completed", b"response.incomplete", b"response.failed")


class OpenAIMeter(SSEMeter):
    """OpenAI Responses: ``response.created`` (model, id), ``response.completed`` (usage)."""

    def _event(self, name: bytes, payload: bytes) -> None:
        reading = self.reading
        if name in _OPENAI_DELTAS:
            reading.estimated_output += _delta_tokens(payload)
        elif name == b"response.created" or name == b"response.in_progress":
            self._response(_json(payload).get("response") or {})
            reading.started = True
        elif name in _OPENAI_FINAL:
            response = _json(payload).get("response") or {}
            self._response(response)
            if reading.output is not None and isinstance(response.get("output"), list):
                reading.output = [_cut(item) for item in response["output"][:32] if isinstance(item, dict)]
            if name == b"response.failed":
                reading.error_type = str((response.get("error") or {}).get("code") or "response_failed")
            reading.final = reading.final or bool(response.get("usage"))
        elif name == b"error":
            data = _json(payload)
            reading.error_type = str(data.get("code") or (data.get("error") or {}).get("type") or "error")

    def _response(self, response: dict[str, Any]) -> None:
        reading = self.reading
        reading.response_model = response.get("model") or reading.response_model
        reading.response_id = response.get("id") or reading.response_id
        status = response.get("status")
        if status and status != "in_progress":
            details = response.get("incomplete_details") or {}
            reading.stop_reason = str(details.get("reason") or status)
        usage = response.get("usage")
        if not isinstance(usage, dict):
            return
        cached = _int((usage.get("input_tokens_details") or {}).get("cached_tokens"))
        reading.input_tokens = max(_int(usage.get("input_tokens")) - cached, 0)
        reading.cache_read_tokens = cached
        reading.output_tokens = _int(usage.get("output_tokens"))
        reading.reasoning_tokens = _int((usage.get("output_tokens_details") or {}).get("reasoning_tokens"))
        reading.final = True

    def body(self, raw: bytes) -> None:
        data = _json(raw)
        if isinstance(data.get("error"), dict):
            self.reading.error_type = str(data["error"].get("type") or data["error"].get("code") or "error")
            return
        if data.get("object") == "response" or "usage" in data:
            self._response(data)
            self.reading.started = True
