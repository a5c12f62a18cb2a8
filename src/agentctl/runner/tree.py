"""``agentctl runs show``: one run as a tree of turns and tool calls."""

from __future__ import annotations

from typing import Any

from agentctl.runner.view import describe_tool
from agentctl.store.sqlite import RunRecord


def _fmt_limits(record: RunRecord) -> str:
    limits = record.limits
    parts = [
        f"{record.turns} turns" + (f"/{limits['max_turns']}" if "max_turns" in limits else ""),
        f"{record.tool_calls} tool calls" + (f"/{limits['max_tool_calls']}" if "max_tool_calls" in limits else ""),
        f"{record.tokens:,} tokens" + (f"/{limits['max_tokens']:,}" if "max_tokens" in limits else ""),
        f"${record.cost_usd:.4f}"
        + (f"/${limits['max_usd']:g}" if "max_usd" in limits else "")
        + f" ({record.cost_source})",
    ]
    return " · ".join(parts)


def sandbox_text(value: str | None) -> str:
    """How a run was confined, for people: unsandboxed runs say so plainly."""
    if not value:
        return "not recorded (run before sandboxes; counts as unsandboxed)"
    if value == "off":
        return "off — UNSANDBOXED (never clean trust evidence)"
    return value


def _request_line(request: dict[str, Any]) -> str:
    """One model request as the gateway saw it."""
    model = request.get("model_answered") or request.get("model_requested") or "?"
    usage = request.get("usage") or {}
    cached = int(usage.get("cache_read_tokens") or 0) + int(usage.get("cache_write_tokens") or 0)
    took = float(request.get("ended") or 0) - float(request.get("started") or 0)
    line = f"{model} {request.get('status', '?')}"
    if usage:
        line += f" · {usage.get('input_tokens', 0):,} in" + (f" (+{cached:,} cache)" if cached else "")
        line += f" / {usage.get('output_tokens', 0):,} out · ${float(request.get('cost_usd') or 0):.4f}"
    if request.get("attempt"):
        line += f" · retry {request['attempt']}"
    if request.get("refused") or request.get("cut"):
        line += f" · {request.get('message')}"
    return f"{line} · {took:.2f}s"


def render_tree(record: RunRecord, events: list[dict[str, Any]]) -> str:
    start = record.started_at
    duration = f"{record.duration:.1f}s" if record.duration is not None else "running"
    out = [
        f"run {record.id}  {record.agent} · {record.model or '?'} · {record.status} · {duration}"
        + (f" · exit {record.exit_code}" if record.exit_code is not None else ""),
        f"  command: {' '.join(record.command)}",
        f"  usage:   {_fmt_limits(record)}",
        f"  sandbox: {sandbox_text(record.sandbox)}",
    ]
    if record.session_id:
        out.append(f"  session: {record.session_id}")
    if record.stop_reason:
        out.append(f"  stopped: {record.stop_reason}")

    ends = {e.get("tool_id"): e for e in events if e["kind"] == "tool_end" and e.get("tool_id")}
    items: list[str] = []
    turn = 0
    for event in events:
        kind = event["kind"]
        offset = f"+{event['at'] - start:.1f}s"
        if kind == "turn":
            turn += 1
            usage = event.get("usage") or {}
            tokens = sum(usage.values()) if usage else 0
            items.append(f"turn {turn}  {offset}" + (f"  {tokens:,} tokens" if tokens else ""))
        elif kind == "tool_start":
            end = ends.get(event.get("tool_id"))
            if end is None:
                status = "… (no result)"
            else:
                mark = "✓" if end.get("ok", True) else "✗"
                status = f"{mark} {end['at'] - event['at']:.2f}s"
            items.append(f"  └ {describe_tool(event.get('tool_name'), event.get('tool_input'))}  {status}")
        elif kind == "message" and event.get("text"):
            text = " ".join(str(event["text"]).split())
            items.append(f"  » {text[:100]}{'…' if len(text) > 100 else ''}")
        elif kind == "gate":
            data = event.get("data", {})
            items.append(
                f"  ⛔ gate {data.get('decision')}: {data.get('rule_id', '')} {event.get('text', '')}".rstrip()
            )
        elif kind == "model_request" and event.get("data", {}).get("metered"):
            items.append(f"  ⇄ {_request_line(event['data'])}")
        elif kind == "api_retry":
            items.append(f"  ↻ API retry {offset}: {event.get('data', {}).get('error') or ''}")
        elif kind == "error":
            label = "trip" if str(event.get("raw_type", "")).startswith("agentctl/") else "error"
            items.append(f"⚠ {label} {offset}: {event.get('text', '')}")
        elif kind == "result":
            items.append(
                f"result {offset}"
                + (f": {' '.join(str(event.get('text', '')).split())[:100]}" if event.get("text") else "")
            )
    if record.verdict:
        items.append(f"post-run check: {record.verdict}")
        items += [
            f"  {f['severity']:<8} {f['rule_id']}  {f['path']}:{f['line']}  {f['message']}"
            for f in record.findings
            if f.get("status") == "open"
        ]
    for index, item in enumerate(items):
        branch = "└─" if index == len(items) - 1 else "├─"
        out.append(f"{branch} {item}" if not item.startswith("  ") else f"│  {item.strip()}")
    return "\n".join(out) + "\n"
