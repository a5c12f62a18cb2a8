"""A scripted model server for driving the real Claude Code and Codex CLIs offline.

It speaks the Anthropic Messages API (``POST /v1/messages``, SSE streaming) and
the OpenAI Responses API (``POST /v1/responses``, SSE streaming) on 127.0.0.1.
Each request of the agent's main loop (one that offers tools) takes the next
step of a script; side requests (titles, summaries) get a short text answer.

A step is a dict:

* ``{"tool": NAME, "input": {...}}``: call a tool (Claude ``tool_use``; Codex
  ``function_call`` with ``input`` as JSON arguments, or ``custom`` for freeform
  tools such as ``apply_patch`` when ``input`` is a string).
* ``{"text": "..."}``: answer with text and end the turn.
* ``{"hang": seconds}``: accept the request and send nothing for that long.
* ``{"status": 500}``: fail the request with that HTTP status.
* ``"usage": {"input_tokens": N, "output_tokens": M}`` may accompany any step,
  with ``cache_read_input_tokens`` / ``cache_creation_input_tokens`` (Anthropic;
  OpenAI reports the read ones as ``cached_tokens`` inside ``input_tokens``) and
  ``reasoning_tokens`` (OpenAI; part of ``output_tokens``).
* ``"thinking": "..."``: an Anthropic thinking block (OpenAI: a reasoning item) first.
* ``"stream_tokens": True``: the output tokens really stream, as text deltas of
  ``delta_tokens`` tokens (four characters each, default 200), and the request's
  ``max_tokens`` / ``max_output_tokens`` is obeyed as a real API does (stop
  reason ``max_tokens``, response ``incomplete``) unless ``"ignore_max_tokens":
  True``. ``"delay": s`` between chunks makes a slow stream; ``"burst": True`` sends
  the whole stream in one write (a reader then gets many events per read).
* Misbehaving streams (for the gateway's fail-closed accounting): ``"crlf": True`` ends
  SSE lines with CRLF; ``"no_usage": True`` leaves every ``usage`` out; ``"gzip": True``
  sends the stream gzip-compressed (``Content-Encoding: gzip``) though identity was asked for.
* ``{"repeat": STEP}``: the last step, repeated forever (loops, cost overruns).
* ``"input"`` may be a function of the request body (for ids only the agent knows,
  such as a Codex ``write_stdin`` session id).

Subagents (Claude's Agent tool) run beside the main loop; ``subagents={MARKER:
steps}`` gives the requests whose first message contains MARKER (put it in the
subagent's prompt) their own script, so both stay deterministic.

Every request is recorded in ``server.requests`` for assertions, with the
window the server spent on it (``started`` .. ``ended``), the usage it
reported (``usage``) and its HTTP ``status``. ``ModelServer(steps,
api_key=KEY)`` answers 401 to requests that do not carry that key.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_USAGE = {"input_tokens": 1200, "output_tokens": 80}


class Script:
    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self._steps = list(steps)
        self._lock = threading.Lock()
        self._index = 0
        self._ids = itertools.count(1)

    def next_step(self) -> dict[str, Any]:
        with self._lock:
            if self._index < len(self._steps):
                step = self._steps[self._index]
                if "repeat" in step:
                    return dict(step["repeat"])
                self._index += 1
                return step
            return {"text": "Done."}

    def new_id(self) -> int:
        return next(self._ids)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


CHARS_PER_TOKEN = 4


def granted(step: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The usage the server reports for ``step``: the script's, with ``max_tokens`` obeyed."""
    usage = {**DEFAULT_USAGE, **step.get("usage", {})}
    limit = body.get("max_tokens", body.get("max_output_tokens"))
    obeys = not step.get("ignore_max_tokens")
    if step.get("stream_tokens") and obeys and isinstance(limit, int) and usage["output_tokens"] > limit:
        usage["output_tokens"] = limit
        usage["truncated"] = True
    return usage


def _filler(tokens: int, size: int) -> Iterator[str]:
    """``tokens`` tokens of text in deltas of ``size`` tokens (CHARS_PER_TOKEN characters each)."""
    while tokens > 0:
        n = min(size, tokens)
        yield "word" * n
        tokens -= n


def anthropic_events(
    step: dict[str, Any], model: str, ident: int, usage: dict[str, Any] | None = None
) -> Iterator[bytes]:
    usage = usage or {**DEFAULT_USAGE, **step.get("usage", {})}
    cache = {k: usage[k] for k in ("cache_read_input_tokens", "cache_creation_input_tokens") if k in usage}
    yield _sse(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": f"msg_{ident:04d}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1, **cache},
            },
        },
    )
    index = 0
    if step.get("thinking"):
        block = {"type": "thinking", "thinking": "", "signature": ""}
        yield _sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})
        delta = {"type": "thinking_delta", "thinking": step["thinking"]}
        yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        signature = {"type": "signature_delta", "signature": "c2NyaXB0ZWQ="}
        yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": signature})
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        index = 1
    if step.get("stream_tokens"):
        block = {"type": "text", "text": ""}
        yield _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        for text in _filler(usage["output_tokens"], int(step.get("delta_tokens", 200))):
            delta = {"type": "text_delta", "text": text}
            yield _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
        index += 1
    if usage.get("truncated"):
        stop_reason = "max_tokens"
    elif "tool" in step:
        block = {"type": "tool_use", "id": f"toolu_{ident:04d}", "name": step["tool"], "input": {}}
        yield _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        delta = {"type": "input_json_delta", "partial_json": json.dumps(step.get("input", {}))}
        yield _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        stop_reason = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        yield _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        delta = {"type": "text_delta", "text": step.get("text", "Done.")}
        yield _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        stop_reason = "end_turn"
    if not usage.get("truncated"):
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"], **cache},
        },
    )
    yield _sse("message_stop", {"type": "message_stop"})


def openai_events(step: dict[str, Any], model: str, ident: int, usage: dict[str, Any] | None = None) -> Iterator[bytes]:
    usage = usage or {**DEFAULT_USAGE, **step.get("usage", {})}
    response_id = f"resp_{ident:04d}"
    base = {"id": response_id, "object": "response", "created_at": int(time.time()), "model": model}
    yield _sse("response.created", {"type": "response.created", "response": {**base, "status": "in_progress"}})
    if "tool" in step:
        payload = step.get("input", {})
        if isinstance(payload, str):
            item: dict[str, Any] = {
                "type": "custom_tool_call",
                "id": f"ctc_{ident:04d}",
                "call_id": f"call_{ident:04d}",
                "name": step["tool"],
                "input": payload,
                "status": "completed",
            }
        else:
            item = {
                "type": "function_call",
                "id": f"fc_{ident:04d}",
                "call_id": f"call_{ident:04d}",
                "name": step["tool"],
                "arguments": json.dumps(payload),
                "status": "completed",
            }
    else:
        item = {
            "type": "message",
            "id": f"msg_{ident:04d}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": step.get("text", "Done."), "annotations": []}],
        }
    output: list[dict[str, Any]] = []
    if step.get("thinking"):
        summary = [{"type": "summary_text", "text": step["thinking"]}]
        reasoning = {"type": "reasoning", "id": f"rs_{ident:04d}", "summary": summary}
        added = {"type": "response.output_item.added", "output_index": 0, "item": {**reasoning, "summary": []}}
        yield _sse("response.output_item.added", added)
        yield _sse(
            "response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": reasoning}
        )
        output.append(reasoning)
    if step.get("stream_tokens"):
        text_id = f"msg_t{ident:04d}"
        message = {"type": "message", "id": text_id, "role": "assistant", "status": "in_progress", "content": []}
        added = {"type": "response.output_item.added", "output_index": len(output), "item": message}
        yield _sse("response.output_item.added", added)
        for text in _filler(usage["output_tokens"], int(step.get("delta_tokens", 200))):
            delta = {"type": "response.output_text.delta", "item_id": text_id, "output_index": len(output)}
            yield _sse("response.output_text.delta", {**delta, "content_index": 0, "delta": text})
    if not usage.get("truncated"):
        index = len(output)
        yield _sse(
            "response.output_item.added", {"type": "response.output_item.added", "output_index": index, "item": item}
        )
        yield _sse(
            "response.output_item.done", {"type": "response.output_item.done", "output_index": index, "item": item}
        )
        output.append(item)
    cached = int(usage.get("cached_tokens", usage.get("cache_read_input_tokens", 0)))
    total = usage["input_tokens"] + usage["output_tokens"]
    completed = {
        **base,
        "status": "incomplete" if usage.get("truncated") else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if usage.get("truncated") else None,
        "output": output,
        "usage": {
            "input_tokens": usage["input_tokens"],
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": usage["output_tokens"],
            "output_tokens_details": {"reasoning_tokens": int(usage.get("reasoning_tokens", 0))},
            "total_tokens": total,
        },
    }
    final = "response.incomplete" if usage.get("truncated") else "response.completed"
    yield _sse(final, {"type": final, "response": completed})


class ModelServer:
    """Start with ``with ModelServer(steps) as server:``; ``server.url`` is the base URL."""

    def __init__(
        self,
        steps: list[dict[str, Any]],
        api_key: str | None = None,
        subagents: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.script = Script(steps)
        self.subagents = {marker: Script(script) for marker, script in (subagents or {}).items()}
        """A request whose first message contains MARKER (a subagent's prompt) follows that script."""
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def main_loop_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["body"].get("tools")]

    def script_for(self, body: dict[str, Any]) -> Script:
        first = (body.get("messages") or body.get("input") or [None])[0]
        text = json.dumps(first)
        return next((script for marker, script in self.subagents.items() if marker in text), self.script)

    def keys_seen(self) -> set[str]:
        """Every API key value that reached the server (``x-api-key`` or a bearer token)."""
        seen = set()
        for request in self.requests:
            headers = {k.lower(): v for k, v in request["headers"].items()}
            if headers.get("x-api-key"):
                seen.add(headers["x-api-key"])
            if headers.get("authorization", "").startswith("Bearer "):
                seen.add(headers["authorization"][7:])
        return seen

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._json(200, {"data": [], "object": "list"})

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                started = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                record: dict[str, Any] = {
                    "path": self.path,
                    "body": body,
                    "raw": raw,
                    "headers": dict(self.headers),
                    "started": started,
                }
                server.requests.append(record)
                try:
                    self._post(record, body)
                finally:
                    record["ended"] = time.time()

            def _post(self, record: dict[str, Any], body: dict[str, Any]) -> None:
                if server.api_key is not None:
                    bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if server.api_key not in (self.headers.get("x-api-key"), bearer):
                        record["status"] = 401
                        message = {"type": "authentication_error", "message": "invalid x-api-key"}
                        self._json(401, {"type": "error", "error": message})
                        return
                path = self.path.split("?")[0]
                if path.endswith("/messages/count_tokens"):
                    self._json(200, {"input_tokens": 1000})
                    return
                if not (path.endswith("/messages") or path.endswith("/responses")):
                    self._json(404, {"error": {"type": "not_found", "message": path}})
                    return
                step = server.script_for(body).next_step() if body.get("tools") else {"text": "ok"}
                if callable(step.get("input")):
                    step = {**step, "input": step["input"](body)}  # built from what the agent sent so far
                if "hang" in step:
                    time.sleep(float(step["hang"]))
                    self.close_connection = True  # then drop the connection: the client retries
                    return
                if "status" in step:
                    record["status"] = int(step["status"])
                    self._json(
                        int(step["status"]), {"type": "error", "error": {"type": "api_error", "message": "scripted"}}
                    )
                    return
                model = str(body.get("model", "scripted-model"))
                ident = server.script.new_id()  # one numbering across all scripts
                usage = granted(step, body)
                prefix = "msg" if path.endswith("/messages") else "resp"
                record.update(status=200, usage=usage, step=step, response_id=f"{prefix}_{ident:04d}")
                if not body.get("stream"):
                    self._json(200, _non_streaming(path, step, model, ident))
                    return
                generate = anthropic_events if path.endswith("/messages") else openai_events

                def events(step: dict[str, Any], model: str, ident: int, usage: dict[str, Any]) -> Iterator[bytes]:
                    packer = zlib.compressobj(wbits=31) if step.get("gzip") else None
                    for chunk in generate(step, model, ident, usage):
                        chunk = _misbehave(step, chunk)
                        yield packer.compress(chunk) + packer.flush(zlib.Z_SYNC_FLUSH) if packer else chunk
                    if packer:
                        yield packer.flush()

                delay = float(step.get("delay", 0))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                if step.get("gzip"):
                    self.send_header("Content-Encoding", "gzip")
                self.end_headers()
                try:
                    if step.get("burst"):  # the whole stream in one write: a reader gets many events per read
                        self.wfile.write(b"".join(events(step, model, ident, usage)))
                        self.wfile.flush()
                    for chunk in [] if step.get("burst") else events(step, model, ident, usage):
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if delay:
                            time.sleep(delay)
                except (BrokenPipeError, ConnectionResetError):
                    record["disconnected"] = True
                    return
                self.close_connection = True

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _non_streaming(path: str, step: dict[str, Any], model: str, ident: int) -> dict[str, Any]:
    usage = {**DEFAULT_USAGE, **step.get("usage", {})}
    if path.endswith("/messages"):
        content: list[dict[str, Any]]
        if "tool" in step:
            content = [
                {"type": "tool_use", "id": f"toolu_{ident:04d}", "name": step["tool"], "input": step.get("input", {})}
            ]
        else:
            content = [{"type": "text", "text": step.get("text", "ok")}]
        return {
            "id": f"msg_{ident:04d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "tool_use" if "tool" in step else "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
    return {"id": f"resp_{ident:04d}", "object": "response", "status": "completed", "output": [], "usage": usage}


def _misbehave(step: dict[str, Any], chunk: bytes) -> bytes:
    """One SSE event as a misbehaving server would send it (``no_usage``, ``crlf``)."""
    if step.get("no_usage"):
        head, _, data = chunk.rstrip(b"\n").rpartition(b"data: ")
        payload = json.loads(data)
        for holder in (payload, payload.get("message"), payload.get("response")):
            if isinstance(holder, dict):
                holder.pop("usage", None)
        chunk = head + b"data: " + json.dumps(payload).encode() + b"\n\n"
    if step.get("crlf"):
        chunk = chunk.replace(b"\n", b"\r\n")
    return chunk
