"""The model gateway under the real Claude Code and Codex CLIs, against the scripted model server.

What a user relies on: the tokens and cost agentctl records are the ones the
provider reported, request by request; ``--max-usd`` / ``--max-tokens`` hold
before the money is spent; the agent never holds the real API key.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.agents.conftest import AgentHarness
from tests.conftest import agentctl_binary
from tests.support.model_server import Script

# USD per million tokens, given on the command line so the expected cost is plain arithmetic
CLAUDE_PRICE = ("--price", "claude-opus=5,25")
CODEX_PRICE = ("--price", "gpt-5=1.25,10")


def model_requests(harness: AgentHarness, run_id: str) -> list[dict[str, Any]]:
    return [e["data"] for e in harness.show(run_id)["events"] if e["kind"] == "model_request"]


def anthropic_cost(usage: dict[str, Any]) -> float:
    return (
        usage["input_tokens"] * 5
        + usage["output_tokens"] * 25
        + usage.get("cache_read_input_tokens", 0) * 0.5
        + usage.get("cache_creation_input_tokens", 0) * 6.25
    ) / 1e6


def openai_cost(usage: dict[str, Any]) -> float:
    cached = usage.get("cached_tokens", 0)
    return ((usage["input_tokens"] - cached) * 1.25 + cached * 0.125 + usage["output_tokens"] * 10) / 1e6


def test_claude_tokens_and_cost_per_request_are_the_providers(harness: AgentHarness, server_factory) -> None:
    turns = [
        {"input_tokens": 3, "output_tokens": 80, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 12000},
        {"input_tokens": 5, "output_tokens": 60, "cache_read_input_tokens": 12000, "cache_creation_input_tokens": 900},
        {"input_tokens": 4, "output_tokens": 120, "cache_read_input_tokens": 12900, "cache_creation_input_tokens": 0},
        {"input_tokens": 2, "output_tokens": 40, "cache_read_input_tokens": 13000, "cache_creation_input_tokens": 50},
    ]
    server = server_factory(
        [
            {"tool": "Bash", "input": {"command": "echo one"}, "usage": turns[0], "thinking": "Let me look."},
            {"tool": "Bash", "input": {"command": "echo two"}, "usage": turns[1]},
            {"tool": "Bash", "input": {"command": "echo three"}, "usage": turns[2], "thinking": "Nearly."},
            {"text": "All done.", "usage": turns[3]},
        ]
    )
    result = harness.run(server, "claude", *CLAUDE_PRICE)
    assert result.code == 0, result.stderr
    summary = result.summary
    assert summary["cost_source"] == "gateway"

    answered = {r["response_id"]: r for r in server.requests if r.get("status") == 200}
    recorded = model_requests(harness, summary["run_id"])
    metered = [r for r in recorded if r["metered"]]
    assert {r["response_id"] for r in metered} == set(answered)
    for record in metered:
        sent = answered[record["response_id"]]["usage"]
        assert record["usage"] == {
            "input_tokens": sent["input_tokens"],
            "output_tokens": sent["output_tokens"],
            "cache_read_tokens": sent.get("cache_read_input_tokens", 0),
            "cache_write_tokens": sent.get("cache_creation_input_tokens", 0),
        }
        assert record["cost_usd"] == pytest.approx(anthropic_cost(sent))
        assert record["status"] == 200 and record["attempt"] == 0 and not record["estimated"]
        assert record["model_requested"] == record["model_answered"] == "claude-opus-5-5"
        assert record["started"] <= record["first_byte"] <= record["ended"]
    main = [r for r in metered if r["stop_reason"] in ("tool_use", "end_turn")]
    assert [r["usage"]["output_tokens"] for r in main] == [80, 60, 120, 40]
    assert [r["stop_reason"] for r in main] == ["tool_use", "tool_use", "tool_use", "end_turn"]

    total = sum(anthropic_cost(r["usage"]) for r in answered.values())
    assert summary["cost_usd"] == pytest.approx(total, abs=1e-6)
    assert summary["usage"]["output_tokens"] == sum(r["usage"]["output_tokens"] for r in answered.values())
    assert summary["usage"]["cache_read_tokens"] == sum(
        r["usage"].get("cache_read_input_tokens", 0) for r in answered.values()
    )
    assert summary["turns"] == 4

    import sqlite3

    from agentctl.store import model_requests as table

    db = sqlite3.connect(harness.repo.root / ".agentctl" / "agentctl.db")
    rows = [r for r in table.for_run(db, summary["run_id"]) if r["response_id"]]
    assert {r["response_id"]: r["output_tokens"] for r in rows} == {
        rid: r["usage"]["output_tokens"] for rid, r in answered.items()
    }


def test_codex_tokens_cached_and_reasoning_per_request(harness: AgentHarness, server_factory) -> None:
    turns = [
        {"input_tokens": 9000, "cached_tokens": 0, "output_tokens": 300, "reasoning_tokens": 200},
        {"input_tokens": 9500, "cached_tokens": 8900, "output_tokens": 150, "reasoning_tokens": 64},
        {"input_tokens": 9900, "cached_tokens": 9400, "output_tokens": 20},
    ]
    server = server_factory(
        [
            {"tool": "exec_command", "input": {"cmd": "echo one"}, "usage": turns[0], "thinking": "plan"},
            {"tool": "exec_command", "input": {"cmd": "echo two"}, "usage": turns[1]},
            {"text": "Done.", "usage": turns[2]},
        ]
    )
    result = harness.run(server, "codex", *CODEX_PRICE)
    assert result.code == 0, result.stderr
    summary = result.summary
    answered = {r["response_id"]: r for r in server.requests if r.get("status") == 200}
    recorded = [r for r in model_requests(harness, summary["run_id"]) if r["metered"]]
    assert len(recorded) == len(answered) == 3
    for record in recorded:
        sent = answered[record["response_id"]]["usage"]
        cached = sent.get("cached_tokens", 0)
        assert record["usage"]["input_tokens"] + record["usage"]["cache_read_tokens"] == sent["input_tokens"]
        assert record["usage"]["cache_read_tokens"] == cached
        assert record["usage"]["output_tokens"] == sent["output_tokens"]
        assert record["reasoning_tokens"] == sent.get("reasoning_tokens", 0)
        assert record["cost_usd"] == pytest.approx(openai_cost(sent))
    # a turn is a model response: three responses, two tool calls
    assert summary["turns"] == 3 and summary["tool_calls"] == 2
    assert summary["cost_usd"] == pytest.approx(sum(openai_cost(r["usage"]) for r in answered.values()), abs=1e-6)


def _big_turns(tool: str, tool_input: dict[str, Any], output_tokens: int) -> list[dict[str, Any]]:
    turn = {
        "tool": tool,
        "input": tool_input,
        "stream_tokens": True,
        "delta_tokens": 500,
        "usage": {"input_tokens": 2000, "output_tokens": output_tokens},
    }
    return [{"repeat": turn}]


def test_max_usd_holds_on_100k_output_token_turns_claude(harness: AgentHarness, server_factory) -> None:
    """Five turns of 100k output tokens would cost $12.5; --max-usd 1 ends within 5% of $1."""
    server = server_factory(_big_turns("Bash", {"command": "echo more"}, 100_000))
    result = harness.run(server, "claude", "--max-usd", "1", *CLAUDE_PRICE, "--grace", "2", timeout=180)
    assert result.code == 5, result.stderr
    summary = result.summary
    assert summary["status"] == "budget_exhausted" and "max-usd" in summary["stop_reason"]
    billed = sum(anthropic_cost(r["usage"]) for r in server.requests if r.get("usage"))
    assert billed <= 1.05
    assert summary["cost_usd"] == pytest.approx(billed, abs=0.01)
    # the first answer was cut short by the provider at the max_tokens agentctl sent
    first = next(r for r in server.main_loop_requests() if r.get("usage"))
    assert first["body"]["max_tokens"] < 100_000 and first["usage"]["truncated"]
    stopped = [r for r in model_requests(harness, summary["run_id"]) if r.get("refused") or r.get("cut")]
    assert stopped and stopped[0]["max_tokens_sent"] == first["body"]["max_tokens"]


def test_max_tokens_holds_on_100k_output_token_turns_codex(harness: AgentHarness, server_factory) -> None:
    server = server_factory(_big_turns("exec_command", {"cmd": "echo more"}, 100_000))
    result = harness.run(server, "codex", "--max-tokens", "150000", *CODEX_PRICE, "--grace", "2", timeout=180)
    assert result.code == 5, result.stderr
    summary = result.summary
    assert summary["status"] == "budget_exhausted" and "max-tokens" in summary["stop_reason"]
    used = sum(r["usage"]["input_tokens"] + r["usage"]["output_tokens"] for r in server.requests if r.get("usage"))
    assert used <= 150_000 * 1.05
    assert sum(summary["usage"].values()) == used
    capped = [r for r in server.main_loop_requests() if r["body"].get("max_output_tokens")]
    assert capped and capped[-1]["body"]["max_output_tokens"] < 100_000


def test_max_usd_without_gateway_is_only_after_the_fact(harness: AgentHarness, server_factory) -> None:
    """--no-gateway: the agent's own events (with partial messages, live output) are the accounting."""
    server = server_factory(_big_turns("Bash", {"command": "echo more"}, 10_000))
    result = harness.run(server, "claude", "--no-gateway", "--max-usd", "0.5", *CLAUDE_PRICE, "--grace", "2")
    assert result.code == 5, result.stderr
    assert result.summary["cost_source"] != "gateway"
    assert "--include-partial-messages" in result.summary["command"]
    assert not model_requests(harness, result.summary["run_id"])


def run_with_env(harness: AgentHarness, server: Any, agent: str, env: dict[str, str], *options: str) -> Any:
    command = [agentctl_binary(), "run", "--json", *options, "--", *harness.command(agent, "go")]
    proc = subprocess.run(
        command, cwd=harness.repo.root, env={**harness.env(server), **env}, capture_output=True, text=True, timeout=120
    )
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.startswith("{") else {}, proc.stderr


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_the_agent_never_holds_the_real_key(harness: AgentHarness, server_factory, agent: str) -> None:
    # unique to this test: other runs on the machine hold the harness's usual test keys
    real = f"sk-{'ant-api03-' if agent == 'claude' else ''}{uuid.uuid4().hex}{uuid.uuid4().hex}"
    variable = "ANTHROPIC_API_KEY" if agent == "claude" else "OPENAI_API_KEY"
    dump = harness.repo.root / "env-dump.txt"
    # every environment the agent's user can read: its own, and every process's it can open
    script = (
        f"(echo PID agent; env; for p in /proc/[0-9]*; do echo PID $p $(tr '\\0' ' ' < $p/cmdline | head -c 150);"
        f" tr '\\0' '\\n' < $p/environ 2>/dev/null; done) > {dump}; echo ok"
    )
    tool, tool_input = ("Bash", {"command": script}) if agent == "claude" else ("exec_command", {"cmd": script})
    server = server_factory([{"tool": tool, "input": tool_input}, {"text": "done"}])
    server.api_key = real  # the server refuses any other key
    # --no-gate: the gate refuses reading another process's environ (a secret read); this test proves the key
    # is not there to find even for an agent that does read every environ
    code, summary, stderr = run_with_env(harness, server, agent, {variable: real}, "--no-check", "--no-gate")
    assert code == 0, stderr
    assert server.keys_seen() == {real}
    text = Path(dump).read_text()
    assert "PATH=" in text  # the dump ran
    leaking = [section.splitlines()[0] for section in text.split("PID ") if real in section]
    assert not leaking, leaking
    assert "agentctl-placeholder" in text
    record = json.dumps(harness.show(summary["run_id"]))
    assert real not in record


def _registry() -> set[str]:
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes

    deprecated = {"gen_ai.system", "gen_ai.prompt", "gen_ai.completion"}
    names = {v for k, v in vars(gen_ai_attributes).items() if k.startswith("GEN_AI_") and isinstance(v, str)}
    return names - deprecated - {"gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens"}


GENAI_TYPES = {
    "gen_ai.usage.input_tokens": "int_value",
    "gen_ai.usage.output_tokens": "int_value",
    "gen_ai.usage.cache_read.input_tokens": "int_value",
    "gen_ai.usage.cache_creation.input_tokens": "int_value",
    "gen_ai.usage.reasoning.output_tokens": "int_value",
    "gen_ai.request.max_tokens": "int_value",
    "gen_ai.request.model": "string_value",
    "gen_ai.response.model": "string_value",
    "gen_ai.response.id": "string_value",
    "gen_ai.response.finish_reasons": "array",
    "gen_ai.response.time_to_first_chunk": "double_value",
    "gen_ai.input.messages": "string_value",
    "gen_ai.output.messages": "string_value",
    "gen_ai.system_instructions": "string_value",
    "server.address": "string_value",
    "server.port": "int_value",
    "error.type": "string_value",
}


def test_trace_has_a_chat_span_per_request_with_true_window_and_subagent_nesting(
    harness: AgentHarness, server_factory
) -> None:
    from tests.support.otlp_receiver import OTLPReceiver

    task = "SUBTASK-7: list the files"
    server = server_factory(
        [
            {"status": 500},  # the API fails once; Claude Code retries
            {
                "tool": "Agent",
                "input": {"description": "look around", "prompt": task, "subagent_type": "general-purpose"},
                "usage": {"input_tokens": 10, "output_tokens": 70, "cache_read_input_tokens": 5000},
            },
            {"text": "All done.", "usage": {"input_tokens": 12, "output_tokens": 15, "cache_read_input_tokens": 5100}},
        ]
    )
    server.subagents = {
        "SUBTASK-7": Script(
            [
                {"tool": "Bash", "input": {"command": "echo sub"}, "usage": {"input_tokens": 900, "output_tokens": 30}},
                {"text": "sub done", "usage": {"input_tokens": 950, "output_tokens": 20}},
            ]
        )
    }
    with OTLPReceiver() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        }
        command = [agentctl_binary(), "run", "--json", "--no-check", *CLAUDE_PRICE, "--"]
        command += ["claude", "-p", "find the files", "--allowedTools", "Agent,Task,Bash,Read"]
        proc = subprocess.run(
            command,
            cwd=harness.repo.root,
            env={**harness.env(server), **env},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        spans = receiver.spans()
        points = receiver.metric_points()
    summary = json.loads(proc.stdout)
    metered = [r for r in model_requests(harness, summary["run_id"]) if r["metered"]]
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert len(chats) == len(metered) == len([r for r in server.requests if r["path"].startswith("/v1/messages?")])

    # every request the server handled lies inside its span
    by_id = {s["attributes"]["gen_ai.response.id"][1]: s for s in chats if "gen_ai.response.id" in s["attributes"]}
    for request in server.requests:
        if request.get("response_id"):
            span = by_id[request["response_id"]]
            assert span["start"] <= request["started"] and request["ended"] <= span["end"] + 0.001
    failed = [s for s in chats if s["attributes"].get("error.type") == ("string_value", "500")]
    assert len(failed) == 1 and failed[0]["status"] == 2  # STATUS_CODE_ERROR, a span of its own

    # names from the GenAI registry, with the registry's types
    registry = _registry()
    for span in spans:
        for name, (kind, _value) in span["attributes"].items():
            if name.startswith("gen_ai."):
                assert name in registry, name
            if name in GENAI_TYPES:
                assert kind == GENAI_TYPES[name], (name, kind)
    first = by_id["msg_0001"]["attributes"]
    assert first["gen_ai.usage.input_tokens"] == ("int_value", 5010)  # cache included, as the conventions say
    assert first["gen_ai.usage.cache_read.input_tokens"] == ("int_value", 5000)
    assert first["gen_ai.response.finish_reasons"] == ("array", [("string_value", "tool_use")])
    assert first["server.address"] == ("string_value", "127.0.0.1")

    # content: valid JSON in the conventions' shape
    for span in spans:
        for name in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"):
            if name in span["attributes"]:
                value = json.loads(span["attributes"][name][1])
                assert isinstance(value, list)
                for message in value if name != "gen_ai.system_instructions" else []:
                    assert message["role"] and isinstance(message["parts"], list)
    answer = json.loads(first["gen_ai.output.messages"][1])
    assert answer[0]["role"] == "assistant" and answer[0]["finish_reason"] == "tool_use"
    [call] = [p for p in answer[0]["parts"] if p["type"] == "tool_call"]
    assert call["name"] == "Agent" and call["arguments"]["prompt"] == task
    [root] = [s for s in spans if s["name"] == "invoke_agent claude"]
    prompt = json.loads(root["attributes"]["gen_ai.input.messages"][1])
    assert "find the files" in json.dumps(prompt)
    assert root["attributes"]["gen_ai.usage.output_tokens"] == (
        "int_value",
        sum(r["usage"]["output_tokens"] for r in metered),
    )
    assert root["attributes"]["gen_ai.agent.version"][1]

    # the subagent's model calls and tools hang under the Agent call that started it
    [agent_call] = [s for s in spans if s["name"] == "execute_tool Agent"]
    [sub_tool] = [s for s in spans if s["name"] == "execute_tool Bash"]
    assert sub_tool["parent_id"] == agent_call["span_id"]
    nested = [s for s in chats if s["parent_id"] == agent_call["span_id"]]
    sub_ids = {
        r["response_id"]
        for r in server.requests
        if r.get("response_id") and server.script_for(r["body"]) is not server.script
    }
    assert len(sub_ids) == 2
    assert {s["attributes"]["gen_ai.response.id"][1] for s in nested} == sub_ids
    assert agent_call["parent_id"] == root["span_id"]

    # metrics over OTLP
    usage = points["gen_ai.client.token.usage"]
    output = sum(p["sum"] for p in usage if p["attributes"]["gen_ai.token.type"] == ("string_value", "output"))
    assert output == sum(r["usage"]["output_tokens"] for r in metered)
    durations = points["gen_ai.client.operation.duration"]
    assert sum(p["count"] for p in durations) == len(metered) and durations[0]["unit"] == "s"


def test_codex_trace_has_usage_on_chat_spans_and_gate_decisions_on_tool_spans(
    harness: AgentHarness, server_factory
) -> None:
    from tests.support.otlp_receiver import OTLPReceiver

    server = server_factory(
        [
            {"tool": "exec_command", "input": {"cmd": "echo hi"}, "usage": {"input_tokens": 3000, "output_tokens": 40}},
            {"text": "Done.", "usage": {"input_tokens": 3100, "cached_tokens": 2900, "output_tokens": 9}},
        ]
    )
    with OTLPReceiver() as receiver:
        code, summary, stderr = run_with_env(
            harness, server, "codex", {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}, "--no-check", *CODEX_PRICE
        )
        assert code == 0, stderr
        spans = receiver.spans()
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert len(chats) == 2 and summary["turns"] == 2
    usage = sorted(s["attributes"]["gen_ai.usage.input_tokens"][1] for s in chats)
    assert usage == [3000, 3100]  # cached tokens included
    cached = [s["attributes"].get("gen_ai.usage.cache_read.input_tokens") for s in chats]
    assert ("int_value", 2900) in cached
    [tool] = [s for s in spans if s["name"] == "execute_tool exec_command"]
    [root] = [s for s in spans if s["name"] == "invoke_agent codex"]
    assert tool["parent_id"] == root["span_id"]
    decisions = [e for e in harness.show(summary["run_id"])["events"] if e["kind"] == "gate"]
    assert decisions and decisions[0]["tool_id"].startswith("call_")
    assert tool["events"] == ["agentctl.gate.decision"]


def test_a_stream_that_crosses_the_limit_is_ended(harness: AgentHarness, server_factory) -> None:
    """A provider that streams past max_tokens (or an input bigger than estimated): cut mid-stream."""
    turn = {
        "tool": "Bash",
        "input": {"command": "echo more"},
        "stream_tokens": True,
        "ignore_max_tokens": True,
        "delta_tokens": 500,
        "delay": 0.002,
        "usage": {"input_tokens": 2000, "output_tokens": 100_000},
    }
    server = server_factory([{"repeat": turn}])
    result = harness.run(server, "claude", "--max-usd", "0.5", *CLAUDE_PRICE, "--grace", "2", timeout=180)
    assert result.code == 5, result.stderr
    [first, *_] = [r for r in model_requests(harness, result.summary["run_id"]) if r["metered"]]
    assert first["cut"] == "max_usd" and first["estimated"] and first["error_type"] == "budget_exhausted"
    assert any(r.get("disconnected") for r in server.main_loop_requests())  # the provider stopped sending
    # what was streamed before the cut: at most a chunk over the limit
    assert result.summary["cost_usd"] <= 0.5 * 1.05


def test_a_gateway_that_cannot_start_stops_the_run_before_the_agent(harness: AgentHarness, server_factory) -> None:
    server = server_factory([{"text": "never asked"}])
    code, _summary, stderr = run_with_env(harness, server, "claude", {}, "--upstream", "ftp://models.internal")
    assert code == 2
    assert "gateway" in stderr and "hint:" in stderr and "Traceback" not in stderr
    assert not server.requests  # the agent never started
    code, _summary, stderr = run_with_env(harness, server, "claude", {}, "--upstream", "ftp://x", "--no-gateway")
    assert code == 0, stderr
