"""Recorded runs as OpenTelemetry traces (GenAI semantic conventions), over OTLP.

One trace per run: an ``invoke_agent {agent}`` root span, a ``chat {model}``
span per model turn and an ``execute_tool {tool}`` span per tool call, with
gate decisions, budget/breaker trips and post-run findings as span events.
Times are the events' own, not the export's. Span ids derive from the run id,
so a span re-sent after a lost acknowledgement is the same span.

Configuration is the standard ``OTEL_EXPORTER_OTLP_*`` environment
(``…_ENDPOINT``, ``…_TRACES_ENDPOINT``, ``…_HEADERS``, ``…_PROTOCOL`` =
``http/protobuf`` or ``grpc``), ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES``. Message content (tool arguments and results, the
agent's final text) is only sent with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (or
``--capture-content``), truncated to ``CONTENT_LIMIT`` characters; it was
redacted before it was stored.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from agentctl.errors import AgentctlError
from agentctl.export import genai
from agentctl.store.sqlite import RunRecord

CONTENT_LIMIT = 4096
"""Characters of message content kept per attribute when content capture is on."""
BATCH = 2000

_PROVIDERS = {"claude": "anthropic", "codex": "openai"}
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class ExportError(AgentctlError):
    """See :class:`agentctl.errors.AgentctlError`."""


@dataclass(frozen=True)
class TraceIds:
    trace_id: str
    root_span_id: str
    parent_span_id: str | None

    @property
    def traceparent(self) -> str:
        """W3C ``traceparent`` of the run's root span, handed to the agent."""
        return f"00-{self.trace_id}-{self.root_span_id}-01"


def _hex(seed: str, length: int) -> str:
    return hashlib.blake2b(seed.encode(), digest_size=length // 2).hexdigest()


def trace_ids(run_id: str, traceparent: str | None = None) -> TraceIds:
    """The run's trace; a valid ``TRACEPARENT`` (a CI job's trace) becomes its parent."""
    match = _TRACEPARENT.match((traceparent or "").strip().lower())
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
        return TraceIds(match.group(1), _hex(f"{run_id}:root", 16), match.group(2))
    return TraceIds(_hex(f"{run_id}:trace", 32), _hex(f"{run_id}:root", 16), None)


def provider_of(agent: str) -> str:
    """``gen_ai.provider.name`` of an agent's model API."""
    return _PROVIDERS.get(agent, agent)


def endpoint_configured(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    return bool(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def capture_content_default() -> bool:
    return os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").lower() in ("1", "true", "yes")


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _truncate(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= CONTENT_LIMIT else text[:CONTENT_LIMIT] + "…[truncated]"


class _Spans:
    """Builds finished ``ReadableSpan`` values directly: no tracer, sampler or processors.

    The SDK's span lifecycle (attribute cleaning, locks, processors) costs about
    40 µs a span; a stored run is already complete, so its spans are made whole.
    """

    def __init__(self, trace_id: int) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import Status, StatusCode, TraceFlags

        from agentctl import __version__

        self.trace_id = trace_id
        self.sampled = TraceFlags(1)
        self.unset = Status(StatusCode.UNSET)
        self.resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "agentctl")})
        self.scope = InstrumentationScope("agentctl", __version__)

    def context(self, span_id: str) -> Any:
        from opentelemetry.trace import SpanContext

        return SpanContext(self.trace_id, int(span_id, 16), is_remote=False, trace_flags=self.sampled)

    def make(
        self,
        span_id: str,
        name: str,
        start: float,
        end: float,
        parent: Any,
        kind: Any,
        attributes: dict[str, Any],
        events: Sequence[Any] = (),
        error: str | None = None,
    ) -> Any:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import Status, StatusCode

        return ReadableSpan(
            name=name,
            context=self.context(span_id),
            parent=parent,
            resource=self.resource,
            attributes={k: v for k, v in attributes.items() if v is not None},
            events=tuple(events),
            kind=kind,
            status=Status(StatusCode.ERROR, error) if error is not None else self.unset,
            start_time=_ns(start),
            end_time=_ns(max(end, start)),
            instrumentation_scope=self.scope,
        )


def _event(name: str, attributes: dict[str, Any], at: float) -> Any:
    from opentelemetry.sdk.trace import Event

    return Event(name, attributes, timestamp=_ns(at))


def build_spans(record: RunRecord, events: Sequence[dict[str, Any]], capture_content: bool) -> Iterator[Any]:
    """The run's finished spans (SDK ``ReadableSpan`` values), in order, ready for an exporter."""
    from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

    ids = trace_ids(record.id, None)
    trace_id_hex = record.trace_id or ids.trace_id
    spans = _Spans(int(trace_id_hex, 16))
    provider_name = _PROVIDERS.get(record.agent, record.agent)
    end = record.ended_at or max((e["at"] for e in events), default=record.started_at)
    root_context = spans.context(ids.root_span_id)
    root_events: list[Any] = []

    ends = {e.get("tool_id"): e for e in events if e["kind"] == "tool_end" and e.get("tool_id")}
    started = {e.get("tool_id") for e in events if e["kind"] == "tool_start" and e.get("tool_id")}
    gates: dict[Any, list[dict[str, Any]]] = {}
    tripwires: dict[Any, list[dict[str, Any]]] = {}
    for event in events:
        if event["kind"] == "gate" and event.get("tool_id"):
            gates.setdefault(event["tool_id"], []).append(event)
        if event.get("raw_type") in _TRIPWIRES:
            tripwires.setdefault(event.get("tool_id"), []).append(event)
    genai.join_gates(events, started, gates)
    tool_spans = {
        e["tool_id"]: _hex(f"{record.id}:tool:{i}", 16)
        for i, e in enumerate(events)
        if e["kind"] == "tool_start" and e.get("tool_id")
    }
    # a subagent's turns and tools belong under the Task/Agent call that started it
    subagent_of = {
        e.get("data", {}).get("message_id"): e["data"]["parent_tool_use_id"]
        for e in events
        if e["kind"] == "turn" and e.get("data", {}).get("parent_tool_use_id")
    }

    def parent_of(tool_use_id: Any) -> Any:
        span_id = tool_spans.get(tool_use_id) if tool_use_id else None
        return spans.context(span_id) if span_id else root_context

    requests = [e["data"] for e in events if e["kind"] == "model_request" and e.get("data", {}).get("metered")]
    for number, request in enumerate(requests):
        chat = genai.chat_attributes(request, provider_name, record.session_id)
        if capture_content:
            chat.update(genai.content_attributes(request))
        failure = chat.get("error.type")
        yield spans.make(
            _hex(f"{record.id}:request:{request.get('id', number)}", 16),
            f"chat {request.get('model_requested') or request.get('model_answered') or 'unknown'}",
            float(request["started"]),
            float(request.get("ended") or request["started"]),
            parent_of(subagent_of.get(request.get("response_id"))),
            SpanKind.CLIENT,
            chat,
            error=str(request.get("message") or failure) if failure else None,
        )
    previous = record.started_at
    for index, event in enumerate(events):
        kind = event["kind"]
        if kind == "turn" and not requests:
            # no gateway: the request went out when the previous step ended, the answer is this event
            usage = event.get("usage") or {}
            model = event.get("model") or record.model or "unknown"
            data = event.get("data", {})
            yield spans.make(
                _hex(f"{record.id}:turn:{index}", 16),
                f"chat {model}",
                min(previous, event["at"]),
                event["at"],
                parent_of(data.get("parent_tool_use_id")),
                SpanKind.CLIENT,
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": provider_name,
                    "gen_ai.conversation.id": record.session_id,
                    "gen_ai.response.model": event.get("model"),
                    "gen_ai.response.id": data.get("message_id"),
                    "gen_ai.response.finish_reasons": [str(data["stop_reason"])] if data.get("stop_reason") else None,
                    "gen_ai.usage.input_tokens": genai.input_tokens(usage) if usage else None,
                    "gen_ai.usage.output_tokens": usage.get("output_tokens"),
                    "gen_ai.usage.cache_read.input_tokens": usage.get("cache_read_tokens"),
                    "gen_ai.usage.cache_creation.input_tokens": usage.get("cache_write_tokens"),
                },
            )
        if kind in ("turn", "tool_end", "result"):
            previous = event["at"]
        if kind == "tool_start":
            result = ends.get(event.get("tool_id"))
            attributes: dict[str, Any] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": event.get("tool_name"),
                "gen_ai.tool.call.id": event.get("tool_id"),
                "gen_ai.tool.type": "extension" if str(event.get("tool_name", "")).startswith("mcp") else "function",
            }
            if capture_content:
                attributes["gen_ai.tool.call.arguments"] = genai.fit(event.get("tool_input"))
                if result is not None and result.get("tool_output") is not None:
                    attributes["gen_ai.tool.call.result"] = _truncate(result["tool_output"])
            failed = result is not None and result.get("ok") is False
            if failed:
                attributes["error.type"] = "tool_error"
            yield spans.make(
                _hex(f"{record.id}:tool:{index}", 16),
                f"execute_tool {event.get('tool_name')}",
                event["at"],
                result["at"] if result else end,
                parent_of(event.get("data", {}).get("parent_tool_use_id")),
                SpanKind.INTERNAL,
                attributes,
                [
                    _event("agentctl.gate.decision", _gate_attributes(g), g["at"])
                    for g in gates.get(event.get("tool_id"), [])
                ]
                + [_event("agentctl.tripwire", _tripwire(t), t["at"]) for t in tripwires.get(event.get("tool_id"), [])],
                error="tool call failed" if failed else None,
            )
        elif kind == "gate" and event.get("tool_id") not in started:
            # Calls denied before the agent reported them: the decision is an event on the run.
            root_events.append(_event("agentctl.gate.decision", _gate_attributes(event), event["at"]))
        elif kind == "error" and str(event.get("raw_type", "")).startswith("agentctl/"):
            name = (
                "agentctl.trip"
                if event.get("raw_type") in ("agentctl/budget", "agentctl/breaker")
                else "agentctl.tripwire"
                if event.get("raw_type") in _TRIPWIRES
                else "agentctl.error"
            )
            detail = {
                "agentctl.limit": event.get("data", {}).get("limit", ""),
                "agentctl.message": str(event.get("text", "")),
            }
            root_events.append(_event(name, detail, event["at"]))
    for finding in record.findings:
        if finding.get("status") == "open":
            detail = {
                "agentctl.rule_id": finding["rule_id"],
                "agentctl.severity": finding["severity"],
                "agentctl.action": finding["action"],
                "agentctl.path": f"{finding['path']}:{finding['line']}",
                "agentctl.message": finding["message"],
            }
            root_events.append(_event("agentctl.finding", detail, end))

    parent = None
    if record.parent_span_id:
        parent = SpanContext(
            int(trace_id_hex, 16), int(record.parent_span_id, 16), is_remote=True, trace_flags=TraceFlags(1)
        )
    finish_reasons = [
        str(e["data"]["stop_reason"]) for e in events if e["kind"] == "result" and e.get("data", {}).get("stop_reason")
    ]
    failed_run = record.status not in ("completed", "running")
    breach = next((e for e in events if e.get("raw_type") in _TRIPWIRES), None)
    version = next((e.get("data", {}).get("version") for e in events if e["kind"] == "session"), None)
    root_content: dict[str, Any] = {}
    if capture_content:
        root_content = genai.root_content(requests, events)
    yield spans.make(
        ids.root_span_id,
        f"invoke_agent {record.agent}",
        record.started_at,
        end,
        parent,
        SpanKind.INTERNAL,
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": provider_name,
            "gen_ai.agent.name": record.agent,
            "gen_ai.agent.id": record.id,
            "gen_ai.agent.version": str(version) if version else None,
            "gen_ai.conversation.id": record.session_id,
            "gen_ai.request.model": next((r["model_requested"] for r in requests if r.get("model_requested")), None)
            or record.model,
            "gen_ai.response.model": record.model,
            "gen_ai.usage.input_tokens": record.input_tokens + record.cache_read_tokens + record.cache_write_tokens,
            "gen_ai.usage.output_tokens": record.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": record.cache_read_tokens,
            "gen_ai.usage.cache_creation.input_tokens": record.cache_write_tokens,
            "gen_ai.response.finish_reasons": finish_reasons or None,
            "error.type": record.status if failed_run else None,
            "agentctl.run.id": record.id,
            "agentctl.run.status": record.status,
            "agentctl.run.exit_code": record.exit_code,
            "agentctl.run.stop_reason": record.stop_reason,
            "agentctl.cost.usd": record.cost_usd,
            "agentctl.cost.source": record.cost_source,
            "agentctl.turns": record.turns,
            "agentctl.tool_calls": record.tool_calls,
            "agentctl.check.verdict": record.verdict,
            **(_tripwire(breach) if breach is not None else {}),
            "agentctl.sandbox": record.sandbox or "unknown",
            **{f"agentctl.limit.{k}": v for k, v in record.limits.items()},
            **root_content,
        },
        root_events,
        error=(record.stop_reason or record.status) if failed_run else None,
    )


_TRIPWIRES = frozenset({"agentctl/gate_bypassed", "agentctl/tamper_detected"})


def _tripwire(event: dict[str, Any]) -> dict[str, Any]:
    """A tripwire as attributes: which one, on which tool, which protected paths changed."""
    out: dict[str, Any] = {
        "agentctl.tripwire": str(event.get("raw_type", "")).removeprefix("agentctl/"),
        "agentctl.tripwire.message": str(event.get("text", ""))[:1000],
    }
    if event.get("tool_name"):
        out["agentctl.tripwire.tool"] = str(event["tool_name"])
    paths = event.get("data", {}).get("paths")
    if paths:
        out["agentctl.tripwire.paths"] = [str(p) for p in paths][:50]
    return out


def _gate_attributes(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data", {})
    return {
        "agentctl.gate.decision": str(data.get("decision")),
        "agentctl.gate.rules": [str(f.get("rule_id")) for f in data.get("findings", [])],
        "agentctl.gate.reason": str(event.get("text", ""))[:1000],
        "gen_ai.tool.name": str(event.get("tool_name")),
    }


def exporter(timeout: float | None = None) -> Any:
    """The OTLP span exporter the environment asks for (protocol, endpoint, headers)."""
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(**kwargs)
    if protocol in ("http/protobuf", "http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter(**kwargs)
    raise ExportError(f"unsupported OTEL_EXPORTER_OTLP_PROTOCOL '{protocol}'", "use http/protobuf or grpc")


def send(spans: Iterable[Any], span_exporter: Any, in_flight_limit: int = 2) -> tuple[bool, int]:
    """Export in batches while the next ones are built: up to ``in_flight_limit`` on the wire.

    Returns whether the collector acknowledged every batch, and how many spans were sent.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from opentelemetry.sdk.trace.export import SpanExportResult

    count = 0
    pending: list[Future[Any]] = []
    with ThreadPoolExecutor(max_workers=in_flight_limit, thread_name_prefix="agentctl-otlp") as pool:
        batch: list[Any] = []
        for span in spans:
            batch.append(span)
            count += 1
            if len(batch) >= BATCH:
                if len(pending) >= in_flight_limit and pending.pop(0).result() is not SpanExportResult.SUCCESS:
                    return False, count
                pending.append(pool.submit(span_exporter.export, batch))
                batch = []
        if batch:
            pending.append(pool.submit(span_exporter.export, batch))
        results = [future.result() for future in pending]
    return all(r is SpanExportResult.SUCCESS for r in results), count
