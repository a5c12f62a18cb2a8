"""GenAI semantic-convention pieces of a run's trace: chat spans, message content, metrics.

With the model gateway, each ``chat {model}`` span is one model request as the
gateway saw it: from the request leaving agentctl to the last byte of the
answer, with the provider's own usage. ``gen_ai.usage.input_tokens`` includes
cached tokens (read and written), as the conventions define it; the cache and
reasoning parts are their own attributes. Without the gateway, the span is
inferred from the agent's events: from the previous step's end (when the
request went out) to the answer.

Message content (``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.system_instructions``) follows the conventions' JSON shape (role +
typed parts) and is cut to size part by part, so it always stays valid JSON.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

CONTENT_LIMIT = 4096
"""Characters of serialised message content per attribute."""
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)


def input_tokens(usage: dict[str, Any]) -> int:
    """All input tokens, cached ones included (``gen_ai.usage.input_tokens``)."""
    return (
        int(usage.get("input_tokens") or 0)
        + int(usage.get("cache_read_tokens") or 0)
        + int(usage.get("cache_write_tokens") or 0)
    )


def error_type(request: dict[str, Any]) -> str | None:
    if request.get("refused") or request.get("cut"):
        return "budget_exhausted"
    status = int(request.get("status") or 0)
    if status >= 400:
        return str(status)
    return str(request["error_type"]) if request.get("error_type") else None


def chat_attributes(request: dict[str, Any], provider: str, conversation: str | None) -> dict[str, Any]:
    usage = request.get("usage") or {}
    reasons = [str(request["stop_reason"])] if request.get("stop_reason") else None
    first_byte = request.get("first_byte")
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.conversation.id": conversation,
        "gen_ai.request.model": request.get("model_requested"),
        "gen_ai.request.max_tokens": request.get("max_tokens_sent") or request.get("max_tokens_requested"),
        "gen_ai.request.stream": request.get("stream"),
        "gen_ai.response.model": request.get("model_answered"),
        "gen_ai.response.id": request.get("response_id"),
        "gen_ai.response.finish_reasons": reasons,
        "gen_ai.response.time_to_first_chunk": (first_byte - request["started"]) if first_byte else None,
        "gen_ai.usage.input_tokens": input_tokens(usage) if usage else None,
        "gen_ai.usage.output_tokens": usage.get("output_tokens") if usage else None,
        "gen_ai.usage.cache_read.input_tokens": usage.get("cache_read_tokens") if usage else None,
        "gen_ai.usage.cache_creation.input_tokens": usage.get("cache_write_tokens") if usage else None,
        "gen_ai.usage.reasoning.output_tokens": request.get("reasoning_tokens") or None,
        "server.address": request.get("server_address"),
        "server.port": request.get("server_port"),
        "http.response.status_code": request.get("status"),
        "error.type": error_type(request),
        "agentctl.request.attempt": request.get("attempt"),
        "agentctl.cost.usd": request.get("cost_usd"),
        "agentctl.usage.estimated": bool(request.get("estimated")) or None,
        "agentctl.budget.limit": request.get("refused") or request.get("cut"),
    }


# -- message content ---------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(v.get("text", v) if isinstance(v, dict) else v) for v in value)
    return json.dumps(value, default=str)


def _parts(content: Any) -> list[dict[str, Any]]:
    """Anthropic content blocks or OpenAI input items → convention parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else [content]:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append({"type": "text", "content": str(block.get("text", ""))})
        elif kind in ("tool_use", "function_call", "custom_tool_call"):
            arguments = block.get("input", block.get("arguments"))
            if isinstance(arguments, str):
                with contextlib.suppress(ValueError):  # cut short, or not JSON: kept as text
                    arguments = json.loads(arguments)
            call_id = block.get("id") if kind == "tool_use" else block.get("call_id")
            parts.append({"type": "tool_call", "id": call_id, "name": block.get("name"), "arguments": arguments})
        elif kind in ("tool_result", "function_call_output", "custom_tool_call_output"):
            call_id = block.get("tool_use_id") or block.get("call_id")
            result = block.get("content", block.get("output"))
            parts.append({"type": "tool_call_response", "id": call_id, "response": _text(result)})
        elif kind in ("thinking", "reasoning"):
            parts.append({"type": "reasoning", "content": _text(block.get("thinking") or block.get("summary") or "")})
        elif kind == "message":
            parts.extend(_parts(block.get("content")))
    return parts


def input_messages(items: Sequence[Any]) -> list[dict[str, Any]]:
    messages = []
    for item in items:
        if not isinstance(item, dict):
            continue
        role = item.get("role") or ("tool" if "output" in str(item.get("type")) else "user")
        messages.append({"role": role, "parts": _parts(item.get("content", item))})
    return messages


def system_instructions(system: Any) -> list[dict[str, Any]] | None:
    if not system:
        return None
    return _parts(system) if not isinstance(system, str) else [{"type": "text", "content": system}]


def fit(value: Any, limit: int = CONTENT_LIMIT) -> str:
    """``value`` as JSON of at most about ``limit`` characters: long strings are cut, never the JSON."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    budget = limit
    while budget > 16:
        budget //= 2
        shortened = json.dumps(_shorten(value, budget), ensure_ascii=False, default=str)
        if len(shortened) <= limit:
            return shortened
    return json.dumps([] if isinstance(value, list) else {}, ensure_ascii=False)


def _shorten(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…[truncated]"
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value[:32]]
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in value.items()}
    return value


def content_attributes(request: dict[str, Any]) -> dict[str, Any]:
    content = request.get("content") or {}
    out: dict[str, Any] = {}
    messages = input_messages(content.get("input") or [])
    if messages:
        out["gen_ai.input.messages"] = fit(messages)
    system = system_instructions(content.get("system"))
    if system:
        out["gen_ai.system_instructions"] = fit(system)
    output = content.get("output")
    if output:
        finish = str(request.get("stop_reason") or "stop")
        out["gen_ai.output.messages"] = fit([{"role": "assistant", "parts": _parts(output), "finish_reason": finish}])
    return out


# -- joining the agent's events ---------------------------------------------


def join_gates(events: Sequence[dict[str, Any]], started: set[Any], gates: dict[Any, list[dict[str, Any]]]) -> None:
    """Codex: the hook's decision is keyed by ``call_…``, the tool item by ``item_…``.

    The hook runs just before the call starts, so an allowed decision belongs to
    the next tool start that has no decision of its own.
    """
    waiting: list[dict[str, Any]] = []
    for event in events:
        if event["kind"] == "gate" and event.get("tool_id") not in started:
            if event.get("data", {}).get("decision") == "allow":
                waiting.append(event)
        elif event["kind"] == "tool_start" and waiting and event.get("tool_id") not in gates:
            gate = waiting.pop(0)
            gates[event.get("tool_id")] = [gate]
            started.add(gate.get("tool_id"))


def root_content(requests: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The user's prompt (the first request's input) and the agent's last text, on the root span."""
    out: dict[str, Any] = {}
    # the agent's main loop offers tools; side requests (titles, summaries) do not
    first = next((r["content"] for r in requests if (r.get("content") or {}).get("tools")), None)
    if first:
        messages = input_messages(first.get("input") or [])
        if messages:
            out["gen_ai.input.messages"] = fit(messages)
        system = system_instructions(first.get("system"))
        if system:
            out["gen_ai.system_instructions"] = fit(system)
    text = next((e.get("text") for e in reversed(events) if e["kind"] == "message" and e.get("text")), None)
    if text:
        output = [{"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}]
        out["gen_ai.output.messages"] = fit(output)
    return out


# -- metrics -----------------------------------------------------------------


def metric_points(
    requests: Iterable[dict[str, Any]], provider: str
) -> tuple[list[tuple[dict[str, Any], int]], list[tuple[dict[str, Any], float]]]:
    """(attributes, tokens) for ``gen_ai.client.token.usage``; (attributes, seconds) for the duration."""
    tokens: list[tuple[dict[str, Any], int]] = []
    durations: list[tuple[dict[str, Any], float]] = []
    for request in requests:
        base = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": request.get("model_requested"),
            "gen_ai.response.model": request.get("model_answered"),
            "server.address": request.get("server_address"),
            "server.port": request.get("server_port"),
        }
        base = {k: v for k, v in base.items() if v is not None}
        failure = error_type(request)
        durations.append(
            ({**base, "error.type": failure} if failure else base, float(request["ended"] - request["started"]))
        )
        usage = request.get("usage")
        if usage:
            tokens.append(({**base, "gen_ai.token.type": "input"}, input_tokens(usage)))
            tokens.append(({**base, "gen_ai.token.type": "output"}, int(usage.get("output_tokens") or 0)))
    return tokens, durations
