"""The run's model gateway: a streaming HTTP proxy on 127.0.0.1, on a thread of agentctl.

Each request of the agent is forwarded to the configured upstream with the
real API key swapped in; the response streams back byte for byte while a
meter reads the provider's usage from it. Budgets are applied before the
request is sent (refused, or ``max_tokens`` capped) and while it streams (ended
if it still crosses the limit). One record per request goes to ``emit`` when
the request is over.

The gateway is an asyncio loop on a daemon thread of the agentctl process:
it cannot outlive agentctl, and handing a record to the supervisor is a queue
put. No access log is written; keys never leave the headers they travel in.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from agentctl.errors import AgentctlError
from agentctl.gateway.budget import Budget
from agentctl.gateway.messages import (
    HOP_HEADERS,
    ambiguous,
    cut_event,
    decoder,
    error_body,
    load_body,
    request_content,
    shrink_thinking,
    split_events,
    unseen_input,
)
from agentctl.gateway.routes import METERED, classify, proxy_for
from agentctl.gateway.settle import settle
from agentctl.gateway.streams import AnthropicMeter, OpenAIMeter, SSEMeter
from agentctl.gateway.wiring import Plan
from agentctl.model.run import Usage

_KEY_HEADERS = ("x-api-key", "authorization", "api-key")
BODY_LIMIT = 64 << 20
"""Largest request body the gateway accepts (a model request is far smaller)."""
METER_BODY_LIMIT = 4 << 20
"""A non-streaming response larger than this is passed on but not metered."""
START_TIMEOUT = 15.0


_QUIET = logging.getLogger("agentctl.gateway.http")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class GatewayError(AgentctlError):
    """The gateway could not start (exit 2)."""


Record = dict[str, Any]


class Gateway:
    """Start with :meth:`start`, point the agent at :attr:`origin`, :meth:`stop` at the end."""

    def __init__(self, plan: Plan, budget: Budget, emit: Callable[[Record], None], capture: bool = False) -> None:
        self.plan = plan
        self.budget = budget
        self.emit = emit
        self.capture = capture
        self.origin = ""
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._session: Any = None
        self._runner: Any = None
        self._last_failed: dict[bytes, int] = {}
        self._proxy: str | None = None
        address, port = plan.server
        self.server_address, self.server_port = address, port
        upstream = plan.upstream
        parts = upstream.split("/", 3)
        self._upstream_origin = "/".join(parts[:3])
        self._prefix = urlsplit(upstream).path.rstrip("/")

    # -- life --------------------------------------------------------------
    def start(self) -> str:
        self.begin()
        return self.wait()

    def begin(self) -> None:
        """Start the gateway's thread; :meth:`wait` returns once it listens (meanwhile, start other things)."""
        self._thread = threading.Thread(target=self._main, name="agentctl-gateway", daemon=True)
        self._thread.start()

    def wait(self) -> str:
        if not self._ready.wait(START_TIMEOUT) or self._error is not None:
            detail = str(self._error) if self._error else "it did not answer in time"
            raise GatewayError(
                f"the model gateway could not start: {detail}",
                "fix the upstream URL, or run with --no-gateway (budgets then follow the agent's own events)",
            )
        return self.origin

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close())
            loop.close()

    async def _serve(self) -> None:
        import aiohttp
        from aiohttp import web

        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            # a small read buffer: a stream the budget ends has not run far ahead into our buffers (each
            # byte the provider got to send is billed, passed on or not)
            read_bufsize=8192,
        )
        self._proxy = proxy_for(self._upstream_origin)

        def request_factory(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> Any:
            return web.BaseRequest(message, payload, protocol, writer, task, loop, client_max_size=BODY_LIMIT)

        loop = asyncio.get_running_loop()
        # Request bodies arrive decompressed; they are forwarded without Content-Encoding.
        # aiohttp logs a malformed request with a traceback quoting it: the agent's bytes on agentctl's stderr
        server = web.Server(self._handle, request_factory=request_factory, access_log=None, logger=_QUIET)
        self._runner = web.ServerRunner(server, handle_signals=False, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.origin = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def _close(self) -> None:
        """Requests still in flight (the agent was stopped mid-answer) end now, and are recorded."""
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- one request ---------------------------------------------------------
    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        ident = next(self._ids)
        started = time.time()
        body = await request.read()
        path = request.rel_url.raw_path_qs if hasattr(request.rel_url, "raw_path_qs") else str(request.rel_url)
        headers, known_key = self._headers(request.headers)
        if self.plan.keys and not known_key:
            # Only the run's own agent holds the placeholder; nobody else spends the user's key here.
            return web.json_response(
                error_body(self.plan.provider, "authentication_error", "agentctl gateway: unknown credentials"),
                status=401,
            )
        route = path.split("?", 1)[0]
        allowed = classify(self.plan.provider, self._prefix, request.method, route)
        record: Record = {
            "id": ident,
            "provider": self.plan.provider,
            "method": request.method,
            "path": route[:512],
            "started": started,
            "server_address": self.server_address,
            "server_port": self.server_port,
            "metered": allowed.kind == METERED,
        }
        if allowed.kind is None:
            # Only the model API's own routes go out with the user's key: not another path on the host, not a
            # paid endpoint the meter cannot read, not a path the upstream may read differently than we do.
            text = f"agentctl gateway: request not forwarded ({allowed.reason})"
            return self._reject(record, 404, "route_refused", "not_found_error", text)
        metered = allowed.kind == METERED
        if not metered:
            return await self._forward(request, path, headers, body, record, None)
        data = load_body(body)
        if not data:
            text = "agentctl gateway: a model request's body must be a JSON object"
            return self._reject(record, 400, "invalid_request", "invalid_request_error", text)
        limits = self.budget.limits
        unseen = unseen_input(self.plan.provider, data)
        if unseen and (limits.max_usd is not None or limits.max_tokens is not None):
            text = f"agentctl gateway: under a budget a model request carries its whole input, not {unseen}"
            return self._reject(record, 400, "invalid_request", "invalid_request_error", text)
        max_key = "max_tokens" if self.plan.provider == "anthropic" else "max_output_tokens"
        # A key given twice is read by us one way and maybe by the upstream the other: send it once.
        reencode = ambiguous(body, (max_key, "model", "stream"))
        model = data.get("model") if isinstance(data.get("model"), str) else None
        requested = data.get(max_key) if isinstance(data.get(max_key), int) else None
        record.update(model_requested=model, max_tokens_requested=requested, stream=bool(data.get("stream")))
        digest = hashlib.blake2b(body, digest_size=16).digest()
        record["attempt"] = self._attempt(request.headers, digest)
        if self.capture:
            record["content"] = request_content(self.plan.provider, data)
        admission = self.budget.admit(ident, model, len(body), requested)
        if admission.refused:
            self.budget.exhausted = admission.refused  # the run is stopping: nothing more goes out
            record["refused"] = admission.limit
            text = f"agentctl: budget exhausted, request refused before it was sent ({admission.refused})"
            kind = "permission_error" if self.plan.provider == "anthropic" else "insufficient_quota"
            return self._reject(record, 403, "budget_exhausted", kind, text, admission.refused)
        if admission.cap is not None:
            data[max_key] = admission.cap
            shrink_thinking(data, admission.cap)
            reencode = True
            record["max_tokens_sent"] = admission.cap
            record["capped_by"] = admission.limit
        if reencode:
            body = json.dumps(data, separators=(",", ":")).encode()
        try:
            response = await self._forward(request, path, headers, body, record, model)
        finally:
            self.budget.flights.pop(ident, None)
        if record.get("error_type") or record.get("estimated"):
            if len(self._last_failed) > 256:
                self._last_failed.clear()
            self._last_failed[digest] = int(record["attempt"])
        return response

    def _headers(self, incoming: Any) -> tuple[dict[str, str], bool]:
        out: dict[str, str] = {}
        known = False
        for name, value in incoming.items():
            lower = name.lower()
            if lower in HOP_HEADERS or lower == "content-encoding":
                continue
            if lower in _KEY_HEADERS:
                for fake, real in self.plan.keys.items():
                    if fake in value:
                        value = value.replace(fake, real)
                        known = True
            out[name] = value
        out["Accept-Encoding"] = "identity"
        return out, known

    def _attempt(self, headers: Any, digest: bytes) -> int:
        """Retry number: the SDK's own header, else the same body sent again after a failure."""
        stated = headers.get("x-stainless-retry-count")
        attempt = int(stated) if stated is not None and stated.isdigit() else self._last_failed.get(digest, -1) + 1
        self._last_failed.pop(digest, None)
        return attempt

    def _reject(self, record: Record, status: int, error: str, kind: str, text: str, message: str | None = None) -> Any:
        """Answer a request without sending it anywhere (an API error the agent does not retry), and record it."""
        from aiohttp import web

        record.update(status=status, error_type=error, message=message or text, ended=time.time())
        self.emit(record)
        body = error_body(self.plan.provider, kind, text)
        return web.json_response(body, status=status, headers={"x-should-retry": "false"})

    async def _forward(
        self, request: Any, path: str, headers: dict[str, str], body: bytes, record: Record, model: str | None
    ) -> Any:
        import aiohttp
        from aiohttp import web

        meter: SSEMeter = (AnthropicMeter if self.plan.provider == "anthropic" else OpenAIMeter)(self.capture)
        ident = int(record["id"])
        cut: str | None = None
        response: Any = None
        try:
            async with self._session.request(
                request.method,
                self._upstream_origin + path,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                proxy=self._proxy,
            ) as upstream:
                record["status"] = upstream.status
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for name, value in upstream.headers.items():
                    if name.lower() not in HOP_HEADERS and name.lower() != "content-length":
                        response.headers.add(name, value)
                streaming = upstream.headers.get("Content-Type", "").startswith("text/event-stream")
                decode = decoder(upstream.headers.get("Content-Encoding", ""))
                await response.prepare(request)
                kept: list[bytes] = []
                size = 0
                async for chunk in upstream.content.iter_any():
                    if "first_byte" not in record:
                        record["first_byte"] = time.time()
                    if record["metered"] and streaming and decode is not None:
                        # compressed (though we asked for identity): metered as it decodes, and ended where it
                        # stands when it crosses the limit (an event cannot be cut out of a compressed stream)
                        meter.feed(decode(chunk))
                        cut = self._progress(ident, meter)
                        if cut is not None:
                            break
                    elif record["metered"] and streaming:
                        # event by event: a slow reader gets many events per chunk, and the one that crosses
                        # the limit must be the last one passed on, however many arrived with it
                        pieces = split_events(chunk)
                        passed = 0
                        for piece in pieces:
                            meter.feed(piece)
                            cut = self._progress(ident, meter)
                            if cut is not None:
                                break
                            passed += 1
                        if cut is not None:
                            meter.feed(b"".join(pieces[passed + 1 :]))  # received, so spent: counted, not passed on
                            await response.write(b"".join(pieces[:passed]) + cut_event(self.plan.provider, cut))
                            break
                    elif record["metered"] and size < METER_BODY_LIMIT:
                        kept.append(chunk)
                        size += len(chunk)
                    await response.write(chunk)
                if record["metered"]:
                    if streaming:
                        meter.close()
                    elif size < METER_BODY_LIMIT:
                        whole = b"".join(kept)
                        meter.body(whole if decode is None else decode(whole))
                await response.write_eof()
                if cut is not None:
                    response.force_close()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            record.setdefault("status", 502)
            record["error_type"] = type(exc).__name__
            if response is None:
                text = f"agentctl gateway: the upstream API could not be reached ({type(exc).__name__})"
                response = web.json_response(error_body(self.plan.provider, "api_error", text), status=502)
        except (ConnectionResetError, asyncio.CancelledError):
            record["error_type"] = record.get("error_type") or "client_disconnected"
            self._finish(record, meter, model, cut)
            raise
        self._finish(record, meter, model, cut)
        return response

    def _progress(self, ident: int, meter: SSEMeter) -> str | None:
        reading = meter.reading
        usage = Usage(reading.input_tokens, 0, reading.cache_read_tokens, reading.cache_write_tokens)
        return self.budget.progress(ident, usage, reading.started, reading.live_output, reading.response_model)

    def _finish(self, record: Record, meter: SSEMeter, model: str | None, cut: str | None) -> None:
        record["ended"] = time.time()
        settle(self.budget, record, meter.reading, model, cut)
        self.emit(record)
