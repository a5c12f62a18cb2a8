"""The gateway's small wire helpers: request bodies, API error bodies, SSE event boundaries, content capture."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from typing import Any

HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
    }
)
"""Request and response headers that belong to one hop, not passed on (the key headers are swapped)."""


_STORED_INPUT = ("previous_response_id", "conversation", "prompt")


def unseen_input(provider: str, data: dict[str, Any]) -> str | None:
    """Why a request's input is not in its body (stored server-side, so its size cannot be reserved), or None.

    OpenAI: a previous response, a stored conversation or prompt, a background response (its usage never
    streams back). Anthropic: a document or image referenced by ``file_id``."""
    if provider != "anthropic":
        for key in _STORED_INPUT:
            if data.get(key):
                return f"'{key}' (input stored at the provider)"
        if data.get("background"):
            return "'background' (its usage is never streamed back)"
        return None
    for message in data.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            source = block.get("source") if isinstance(block, dict) else None
            if isinstance(source, dict) and source.get("type") == "file":
                return "a 'file' source (a document uploaded earlier)"
    return None


_ESCAPED_KEY = re.compile(rb'\\u[0-9a-fA-F]{4}[^"\\]*"\s*:')


def ambiguous(body: bytes, keys: tuple[str, ...]) -> bool:
    """Whether one of ``keys`` may be in ``body`` twice: literally, or spelled with a ``\\u`` escape (a key only
    the escape hides). Python's json keeps the last of duplicates; an upstream may keep the first."""
    if any(body.count(b'"%s"' % key.encode()) > 1 for key in keys):
        return True
    return b"\\u" in body and _ESCAPED_KEY.search(body) is not None


def load_body(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def shrink_thinking(data: dict[str, Any], cap: int) -> None:
    """Anthropic requires ``thinking.budget_tokens`` < ``max_tokens`` (and ≥ 1024)."""
    thinking = data.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    if isinstance(budget, int) and budget >= cap:
        if cap > 1024:
            thinking["budget_tokens"] = cap - 1
        else:
            data.pop("thinking", None)


def error_body(provider: str, kind: str, message: str) -> dict[str, Any]:
    if provider == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"type": kind, "code": kind, "message": message, "param": None}}


_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")
"""The end of an SSE event: a blank line, with any of the three line endings SSE allows."""


def split_events(chunk: bytes) -> list[bytes]:
    """``chunk`` split after each SSE event boundary (the pieces join back to ``chunk``)."""
    ends = [m.end() for m in _BOUNDARY.finditer(chunk)]
    if len(ends) < 2:
        return [chunk]
    pieces = []
    start = 0
    for end in ends:
        pieces.append(chunk[start:end])
        start = end
    if start < len(chunk):
        pieces.append(chunk[start:])
    return pieces


def cut_event(provider: str, message: str) -> bytes:
    text = f"agentctl: budget exhausted, response ended ({message})"
    if provider == "anthropic":
        payload = {"type": "error", "error": {"type": "permission_error", "message": text}}
        return b"\n\nevent: error\ndata: " + json.dumps(payload).encode() + b"\n\n"
    payload = {
        "type": "response.failed",
        "response": {"status": "failed", "error": {"code": "insufficient_quota", "message": text}},
    }
    return b"\n\nevent: response.failed\ndata: " + json.dumps(payload).encode() + b"\n\n"


def request_content(provider: str, data: dict[str, Any]) -> dict[str, Any]:
    """The request's system instructions and new input messages (content capture only)."""
    key, system = ("messages", "system") if provider == "anthropic" else ("input", "instructions")
    items = data.get(key)
    return {"system": data.get(system), "input": new_input(items), "tools": bool(data.get("tools"))}


def new_input(items: Any) -> list[Any]:
    """The messages after the model's last answer: this turn's prompt or tool results."""
    if not isinstance(items, list):
        return []
    answered = ("function_call", "custom_tool_call", "reasoning")
    last = max(
        (
            i
            for i, m in enumerate(items)
            if isinstance(m, dict) and (m.get("role") == "assistant" or m.get("type") in answered)
        ),
        default=-1,
    )
    return items[last + 1 :][-8:]


DECODED_LIMIT = 4 << 20
"""Most bytes one compressed chunk may expand to for the meter (a bomb is cut short, then charged in full)."""


def decoder(encoding: str) -> Callable[[bytes], bytes] | None:
    """What turns a response's ``Content-Encoding`` back into the bytes the meter reads.

    ``None`` for an identity body. An encoding the meter cannot read (``br``,
    ``zstd``, a broken stream) decodes to nothing: the meter then never sees the
    provider's usage, and the request is charged what it reserved."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name not in ("gzip", "x-gzip", "deflate"):
        return lambda chunk: b""
    state = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib framing, told apart by the header
    broken = False

    def decode(chunk: bytes) -> bytes:
        nonlocal broken
        if broken:
            return b""
        try:
            return state.decompress(chunk, DECODED_LIMIT)
        except zlib.error:
            broken = True
            return b""

    return decode
