"""Adapters normalise both agents' streams; the tracker enforces budgets and breakers.

Stream lines are shaped exactly as the real CLIs print them (captured from
Claude Code 2.1.329 and Codex 0.169 against the scripted model server).
"""

from __future__ import annotations

import json

import pytest

from agentctl.agents.base import AgentError
from agentctl.agents.claude import ClaudeAdapter
from agentctl.agents.codex import CodexAdapter
from agentctl.agents.registry import detect
from agentctl.model.run import AgentEvent, EventKind, Usage
from agentctl.runner.limits import Limits, Tracker, parse_duration
from agentctl.runner.pricing import Price, PriceTable, parse_price

CLAUDE_STREAM = [
    {"type": "system", "subtype": "init", "session_id": "s-1", "model": "claude-opus-5-5", "tools": ["Bash", "Write"]},
    {
        "type": "assistant",
        "message": {
            "id": "msg_1",
            "model": "claude-opus-5-5",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}],
            "usage": {"input_tokens": 1200, "output_tokens": 1},
        },
        "session_id": "s-1",
        "timestamp": "2026-11-21T05:09:31.494Z",
    },
    {
        "type": "user",
        "message": {
            "role": "user",
            "content": [{"tool_use_id": "toolu_1", "type": "tool_result", "content": "x", "is_error": True}],
        },
    },
    {
        "type": "system",
        "subtype": "api_retry",
        "attempt": 1,
        "max_retries": 10,
        "error_status": 529,
        "error": "overloaded",
    },
    {"type": "stream_event", "event": {"type": "something_new"}},
    {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "total_cost_usd": 0.0192,
        "num_turns": 3,
        "usage": {"input_tokens": 3600, "output_tokens": 240, "cache_read_input_tokens": 10},
        "permission_denials": [],
    },
]

CODEX_STREAM = [
    {"type": "thread.started", "thread_id": "th-1"},
    {"type": "turn.started"},
    {
        "type": "item.started",
        "item": {"id": "item_0", "type": "command_execution", "command": "bash -lc ls", "status": "in_progress"},
    },
    {
        "type": "item.completed",
        "item": {
            "id": "item_0",
            "type": "command_execution",
            "command": "bash -lc ls",
            "aggregated_output": "a\n",
            "exit_code": 1,
            "status": "failed",
        },
    },
    {
        "type": "item.started",
        "item": {
            "id": "item_1",
            "type": "file_change",
            "changes": [{"path": "/r/main.tf", "kind": "add"}],
            "status": "in_progress",
        },
    },
    {"type": "item.completed", "item": {"id": "item_2", "type": "agent_message", "text": "done"}},
    {"type": "turn.completed", "usage": {"input_tokens": 4800, "cached_input_tokens": 800, "output_tokens": 320}},
    {"type": "brand.new", "x": 1},
]


def feed(adapter, stream) -> list[AgentEvent]:  # type: ignore[no-untyped-def]
    return [event for line in stream for event in adapter.feed(json.dumps(line))]


def test_claude_stream_normalises() -> None:
    events = feed(ClaudeAdapter(), CLAUDE_STREAM)
    assert [e.kind for e in events] == [
        EventKind.SESSION,
        EventKind.TURN,
        EventKind.TOOL_START,
        EventKind.TOOL_END,
        EventKind.API_RETRY,
        EventKind.RAW,
        EventKind.RESULT,
    ]
    session, turn, start, end, retry, raw, result = events
    assert session.session_id == "s-1" and session.model == "claude-opus-5-5"
    assert turn.usage == Usage(input_tokens=1200, output_tokens=1)
    assert (start.tool_id, start.tool_name, start.tool_input) == ("toolu_1", "Bash", {"command": "ls"})
    assert end.tool_id == "toolu_1" and not end.ok
    assert retry.data["error_status"] == 529
    assert raw.raw_type == "stream_event" and raw.data["payload"]["event"]["type"] == "something_new"
    assert result.cost_usd == 0.0192 and result.num_turns == 3 and result.ok


def test_claude_command_gets_stream_flags_once() -> None:
    adapter = ClaudeAdapter()
    assert adapter.command(["claude", "-p", "hi"]) == [
        "claude",
        "-p",
        "hi",
        "--output-format",
        "stream-json",
        "--verbose",
    ]
    already = ["claude", "-p", "hi", "--output-format", "stream-json", "--verbose"]
    assert adapter.command(already) == already


def test_codex_stream_normalises() -> None:
    adapter = CodexAdapter()
    assert adapter.command(["codex", "exec", "hi"]) == ["codex", "exec", "--json", "hi"]
    events = feed(adapter, CODEX_STREAM)
    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.SESSION and events[0].session_id == "th-1"
    starts = [e for e in events if e.kind is EventKind.TOOL_START]
    assert [(s.tool_name, s.tool_id) for s in starts] == [("exec_command", "item_0"), ("apply_patch", "item_1")]
    [end] = [e for e in events if e.kind is EventKind.TOOL_END]
    assert not end.ok and end.tool_output == "a\n" and end.data["exit_code"] == 1
    [result] = [e for e in events if e.kind is EventKind.RESULT]
    assert result.usage == Usage(input_tokens=4000, output_tokens=320, cache_read_tokens=800)
    assert events[-1].kind is EventKind.RAW and events[-1].raw_type == "brand.new"


def test_garbage_lines_are_kept_not_fatal() -> None:
    adapter = ClaudeAdapter()
    [text] = adapter.feed("Reading additional input from stdin...")
    assert text.kind is EventKind.RAW and text.text == "Reading additional input from stdin..."
    [broken] = adapter.feed(json.dumps({"type": "assistant", "message": "not a dict"}))
    assert broken.kind is EventKind.RAW and "adapter_error" in broken.data
    assert adapter.feed("   ") == []


def test_agent_detection() -> None:
    assert detect(["/usr/local/bin/claude", "-p", "x"]).name == "claude"
    assert detect(["codex", "exec", "x"]).name == "codex"
    assert detect(["node", "cli.js"], explicit="codex").name == "codex"
    with pytest.raises(AgentError):
        detect(["aider"])
    with pytest.raises(AgentError):
        detect([])


def tracker(**limits: object) -> Tracker:
    return Tracker(Limits(**limits), PriceTable({"m": Price(10.0, 20.0)}))  # type: ignore[arg-type]


def turn(tokens_in: int, tokens_out: int = 0) -> AgentEvent:
    return AgentEvent(EventKind.TURN, 0, model="m", usage=Usage(input_tokens=tokens_in, output_tokens=tokens_out))


def tool(name: str = "Bash", command: str = "ls", ok: bool = True) -> list[AgentEvent]:
    return [
        AgentEvent(EventKind.TOOL_START, 0, tool_name=name, tool_input={"command": command}),
        AgentEvent(EventKind.TOOL_END, 0, ok=ok),
    ]


def test_cost_budget_from_the_price_table() -> None:
    t = tracker(max_usd=0.5)
    assert t.observe(turn(40_000)) is None  # $0.40
    trip = t.observe(turn(10_001))  # $0.50001
    assert trip is not None and (trip.kind, trip.name) == ("budget", "max_usd")


def test_claude_final_cost_replaces_the_estimate() -> None:
    t = tracker()
    t.observe(turn(1_000_000))
    t.observe(AgentEvent(EventKind.RESULT, 0, cost_usd=1.25, usage=Usage(input_tokens=10)))
    assert (t.cost_usd, t.cost_source, t.usage.input_tokens) == (1.25, "agent", 10)


@pytest.mark.parametrize(
    ("limits", "events", "name"),
    [
        ({"max_tokens": 100}, [turn(60), turn(41)], "max_tokens"),
        ({"max_turns": 2}, [turn(1), turn(1), turn(1)], "max_turns"),
        ({"max_tool_calls": 1}, [*tool(command="a"), *tool(command="b")], "max_tool_calls"),
    ],
)
def test_budgets(limits: dict[str, int], events: list[AgentEvent], name: str) -> None:
    t = tracker(**limits)
    trips = [trip for trip in (t.observe(e) for e in events) if trip]
    assert trips and trips[0].name == name and trips[0].kind == "budget"


def test_repeat_breaker_counts_identical_calls_only() -> None:
    t = tracker(max_repeats=3)
    assert all(t.observe(e) is None for e in [*tool(command="a"), *tool(command="b"), *tool(command="a")])
    trip = t.observe(tool(command="a")[0])
    assert trip is not None and (trip.kind, trip.name) == ("breaker", "max_repeats")


def test_error_breaker_needs_consecutive_failures() -> None:
    t = tracker(max_errors=3)
    events = [*tool(command="1", ok=False), *tool(command="2", ok=False), *tool(command="3", ok=True)]
    assert all(t.observe(e) is None for e in events)
    t.observe(tool(command="4", ok=False)[1])
    t.observe(AgentEvent(EventKind.API_RETRY, 0, ok=False))
    trip = t.observe(tool(command="5", ok=False)[1])
    assert trip is not None and trip.name == "max_errors"


def test_clocks() -> None:
    t = tracker(timeout=10, idle_timeout=3)
    assert t.tick(t.started + 2) is None
    idle = t.tick(t.last_activity + 3.5)
    assert idle is not None and idle.name == "idle_timeout"
    wall = tracker(timeout=10)
    assert wall.tick(wall.started + 11).name == "timeout"  # type: ignore[union-attr]


def test_parsers() -> None:
    assert parse_duration("90") == 90 and parse_duration("20m") == 1200 and parse_duration("1h30m") == 5400
    with pytest.raises(ValueError):
        parse_duration("soon")
    assert parse_price("gpt-5=1.25,10") == ("gpt-5", Price(1.25, 10.0))
    with pytest.raises(ValueError):
        parse_price("gpt-5")
    table = PriceTable()
    assert table.lookup("claude-sonnet-4-5") == table.prices["claude-sonnet"]
    assert table.lookup("gpt-5-mini-2026") == table.prices["gpt-5-mini"]


def test_claude_partial_messages_make_output_tokens_live() -> None:
    """Without the gateway, --include-partial-messages: output tokens count while they stream."""
    adapter = ClaudeAdapter()
    assert adapter.accounting(["claude", "-p", "hi"], "agent-stream")[-1] == "--include-partial-messages"
    assert adapter.accounting(["claude", "-p", "hi"], "gateway") == ["claude", "-p", "hi"]
    start = {
        "type": "message_start",
        "message": {"id": "m1", "model": "claude-opus-5-5", "usage": {"input_tokens": 10, "output_tokens": 1}},
    }
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "word" * 600}}
    final = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 700}}
    lines = [json.dumps({"type": "stream_event", "event": e}) for e in (start, delta, final)]
    tracker = Tracker(Limits(max_tokens=500), PriceTable())
    trips = []
    for line in lines:
        for event in adapter.feed(line):
            trips.append(tracker.observe(event))
    assert tracker.turns == 1
    assert tracker.usage.output_tokens == 700
    assert any(t is not None and t.name == "max_tokens" for t in trips)


def test_codex_bookkeeping_turns_web_search_mcp_and_reconnects() -> None:
    """Turns are model responses; web_search status from its item; MCP named as the hook names it."""
    stream = [
        {"type": "turn.started"},
        {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "think"}},
        {"type": "item.started", "item": {"id": "item_1", "type": "command_execution", "command": "ls"}},
        {
            "type": "item.completed",
            "item": {
                "id": "item_1",
                "type": "command_execution",
                "exit_code": 0,
                "status": "completed",
                "aggregated_output": "",
            },
        },
        {"type": "item.completed", "item": {"id": "item_2", "type": "web_search", "query": "terraform gpu"}},
        {"type": "error", "message": "Reconnecting... 1/5 (stream disconnected before completion)"},
        {
            "type": "item.started",
            "item": {
                "id": "item_3",
                "type": "mcp_tool_call",
                "server": "fake",
                "tool": "lookup",
                "arguments": {"q": 1},
                "status": "in_progress",
            },
        },
        {
            "type": "item.completed",
            "item": {
                "id": "item_3",
                "type": "mcp_tool_call",
                "server": "fake",
                "tool": "lookup",
                "status": "completed",
                "result": "ok",
            },
        },
        {"type": "item.completed", "item": {"id": "item_4", "type": "agent_message", "text": "done"}},
    ]
    adapter = CodexAdapter()
    events = feed(adapter, stream)
    tracker = Tracker(Limits(max_errors=2), PriceTable())
    trips = [tracker.observe(e) for e in events]
    # ls, then (web_search), then the MCP call, then the answer: four model responses
    assert tracker.turns == 4
    [search] = [e for e in events if e.kind is EventKind.TOOL_END and e.tool_name == "web_search"]
    assert search.ok
    assert [e.tool_name for e in events if e.kind is EventKind.TOOL_START][-1] == "mcp__fake__lookup"
    assert [e.kind for e in events if e.raw_type == "error"] == [EventKind.API_RETRY]
    assert not any(trips) and tracker.tool_errors == 0

    metered = CodexAdapter()
    metered.accounting(["codex", "exec"], "gateway")
    assert not [e for e in feed(metered, stream) if e.kind is EventKind.TURN]  # the gateway counts responses
