"""The gateway's pure parts: reading usage from provider streams, and the budget's decisions."""

from __future__ import annotations

import json

from agentctl.gateway.budget import Budget
from agentctl.gateway.streams import AnthropicMeter, OpenAIMeter
from agentctl.gateway.wiring import apply, plan_claude, plan_codex
from agentctl.model.run import Usage
from agentctl.runner.limits import Limits
from agentctl.runner.pricing import Price, PriceTable
from tests.support.model_server import anthropic_events, openai_events

PRICES = PriceTable({"m": Price(5.0, 25.0)})


def test_anthropic_stream_usage_survives_any_chunking() -> None:
    step = {"text": "hi", "thinking": "hmm", "stream_tokens": True}
    usage = {
        "input_tokens": 7,
        "output_tokens": 1234,
        "cache_read_input_tokens": 900,
        "cache_creation_input_tokens": 50,
    }
    stream = b"".join(anthropic_events(step, "claude-x", 3, usage))
    for size in (1, 7, 4096, len(stream)):
        meter = AnthropicMeter()
        for i in range(0, len(stream), size):
            meter.feed(stream[i : i + size])
        meter.close()
        r = meter.reading
        assert (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens) == (7, 1234, 900, 50)
        assert (
            r.final and r.response_model == "claude-x" and r.response_id == "msg_0003" and r.stop_reason == "end_turn"
        )


def test_anthropic_live_estimate_tracks_streamed_output() -> None:
    stream = list(
        anthropic_events({"text": "x", "stream_tokens": True}, "m", 1, {"input_tokens": 1, "output_tokens": 10_000})
    )
    meter = AnthropicMeter()
    for chunk in stream[:-2]:  # everything before message_delta
        meter.feed(chunk)
    assert not meter.reading.final
    assert 9_000 <= meter.reading.live_output <= 11_000


def test_openai_usage_splits_cached_and_reasoning() -> None:
    usage = {"input_tokens": 1000, "cached_tokens": 800, "output_tokens": 300, "reasoning_tokens": 120}
    meter = OpenAIMeter()
    meter.feed(b"".join(openai_events({"text": "ok", "thinking": "t"}, "gpt-5", 4, usage)))
    r = meter.reading
    assert (r.input_tokens, r.cache_read_tokens, r.output_tokens, r.reasoning_tokens) == (200, 800, 300, 120)
    assert r.final and r.response_id == "resp_0004" and r.stop_reason == "completed"


def test_budget_caps_max_tokens_to_what_is_left_and_refuses_when_nothing_is() -> None:
    budget = Budget(Limits(max_usd=1.0), PRICES)
    first = budget.admit(1, "m", 3000, 100_000)  # ~1000 input tokens: $0.005
    assert first.cap is not None and 39_000 < first.cap < 40_000 and first.limit == "max_usd"
    budget.finish(1, Usage(1000, first.cap), PRICES.cost("m", Usage(1000, first.cap)))
    assert budget.cost_usd <= 1.0
    refused = budget.admit(2, "m", 3000, 100_000)
    assert refused.refused and refused.limit == "max_usd"


def test_budget_reserves_for_requests_in_flight() -> None:
    budget = Budget(Limits(max_tokens=10_000), PRICES)
    a = budget.admit(1, "m", 300, 8_000)
    assert a.cap is None  # 100 input + 8000 output fit
    b = budget.admit(2, "m", 300, 8_000)
    assert b.cap is not None and b.cap <= 10_000 - 8_100 - 100


def test_budget_ends_a_stream_that_crosses_the_limit() -> None:
    budget = Budget(Limits(max_usd=0.10), PRICES)
    budget.admit(1, "m", 300, None)
    assert budget.progress(1, Usage(input_tokens=100), True, 1000) is None
    crossed = budget.progress(1, Usage(input_tokens=100), True, 5000)
    assert crossed is not None and crossed.startswith("max_usd")


def test_budget_learns_input_tokens_per_byte() -> None:
    budget = Budget(Limits(max_usd=10), PRICES)
    budget.admit(1, "m", 10_000, 10)
    budget.finish(1, Usage(input_tokens=50_000), 0.25)
    assert budget.estimate(10_000) == 50_000


def test_claude_wiring_swaps_the_key_for_a_placeholder() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-real", "ANTHROPIC_BASE_URL": "https://proxy.example/anthropic"}
    plan = plan_claude(env)
    assert plan.upstream == "https://proxy.example/anthropic" and plan.server == ("proxy.example", 443)
    command, agent_env = apply(plan, ["claude", "-p", "x"], env, plan.local_url("http://127.0.0.1:9"))
    assert agent_env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9/anthropic"
    assert (
        agent_env["ANTHROPIC_API_KEY"] != "sk-ant-real" and plan.keys[agent_env["ANTHROPIC_API_KEY"]] == "sk-ant-real"
    )
    assert command == ["claude", "-p", "x"]


def test_codex_wiring_overrides_the_provider_in_use(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "config.toml").write_text(
        'model_provider = "corp"\n[model_providers.corp]\nbase_url = "http://10.0.0.1:8080/v1"\nenv_key = "CORP_KEY"\n'
    )
    env = {"CODEX_HOME": str(tmp_path), "CORP_KEY": "real"}
    plan = plan_codex(["codex", "exec", "hi"], env)
    command, agent_env = apply(plan, ["codex", "exec", "hi"], env, plan.local_url("http://127.0.0.1:9"))
    assert command == ["codex", "exec", "-c", 'model_providers.corp.base_url="http://127.0.0.1:9/v1"', "hi"]
    assert agent_env["CORP_KEY"] != "real" and plan.upstream == "http://10.0.0.1:8080/v1"
    builtin = plan_codex(["codex", "exec", "-c", "model_provider=openai", "hi"], {"CODEX_HOME": str(tmp_path)})
    assert builtin.upstream == "https://api.openai.com/v1" and builtin.args == ["-c", 'openai_base_url="{url}"']
    assert json.dumps(builtin.keys) == "{}"


def test_the_agents_own_trace_export_is_handed_to_agentctl(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agentctl.export import agent_otel

    env = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
        "OTEL_TRACES_EXPORTER": "otlp",
    }
    _, agent_env, note = agent_otel.apply("claude", ["claude", "-p", "x"], env)
    assert agent_env["OTEL_TRACES_EXPORTER"] == "none" and note and "agentctl owns" in note
    _, agent_env, note = agent_otel.apply("claude", ["claude"], {"CLAUDE_CODE_ENABLE_TELEMETRY": "1"})
    assert "OTEL_TRACES_EXPORTER" not in agent_env and note  # metrics/events only: nothing to turn off
    assert agent_otel.apply("claude", ["claude"], {}) == (["claude"], {}, None)

    (tmp_path / "config.toml").write_text('[otel]\nexporter = "otlp-http"\ntrace_exporter = "otlp-http"\n')
    command, _, note = agent_otel.apply("codex", ["codex", "exec", "hi"], {"CODEX_HOME": str(tmp_path)})
    assert command == ["codex", "exec", "-c", 'otel.trace_exporter="none"', "hi"] and note


def test_signed_cloud_requests_fall_back_to_the_agents_events(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agentctl.gateway.attach import attach

    attached = attach(
        "claude", ["claude", "-p", "x"], {"CLAUDE_CODE_USE_BEDROCK": "1"}, Limits(), PRICES, lambda record: None
    )
    assert attached.gateway is None and attached.accounting == "agent-stream"
    assert attached.note and "CLAUDE_CODE_USE_BEDROCK" in attached.note
    (tmp_path / "auth.json").write_text('{"tokens": {"id_token": "x"}}')
    codex = attach("codex", ["codex", "exec", "x"], {"CODEX_HOME": str(tmp_path)}, Limits(), PRICES, lambda r: None)
    assert codex.gateway is None and codex.note and "ChatGPT" in codex.note
    off = attach("claude", ["claude"], {}, Limits(), PRICES, lambda record: None, enabled=False)
    assert off.gateway is None and off.note == "model gateway off (--no-gateway)"


def test_a_burst_of_events_is_cut_at_the_event_that_crosses_the_limit() -> None:
    """Many events in one read (a slow proxy, a loaded machine): nothing past the crossing event is passed on."""
    import urllib.request

    from agentctl.gateway.server import Gateway
    from tests.support.model_server import ModelServer

    step = {
        "text": "x",
        "stream_tokens": True,
        "ignore_max_tokens": True,
        "delta_tokens": 500,
        "burst": True,
        "usage": {"input_tokens": 2000, "output_tokens": 100_000},
    }
    records: list[dict[str, object]] = []
    with ModelServer([step]) as upstream:
        plan = plan_claude({"ANTHROPIC_BASE_URL": upstream.url, "ANTHROPIC_API_KEY": "sk-ant-real"})
        budget = Budget(Limits(max_usd=0.5), PriceTable({"claude-opus": Price(5, 25)}))
        gateway = Gateway(plan, budget, records.append)
        origin = gateway.start()
        try:
            body = {
                "model": "claude-opus-4",
                "max_tokens": 128_000,
                "stream": True,
                "messages": [{"role": "user", "content": "go"}],
                "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
            }
            request = urllib.request.Request(
                origin + "/v1/messages",
                data=json.dumps(body).encode(),
                headers={"content-type": "application/json", "x-api-key": plan.env["ANTHROPIC_API_KEY"]},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                stream = response.read().decode()
        finally:
            gateway.stop()
    deltas = [line for line in stream.splitlines() if line.startswith("data:") and '"text_delta"' in line]
    streamed_tokens = sum(len(json.loads(line[5:])["delta"]["text"]) for line in deltas) // 4
    # $0.50 at $25/M output over $0.01 input: under 19,600 output tokens, plus at most the delta that crossed
    assert 0 < streamed_tokens <= 19_600 + 500
    assert "budget exhausted" in stream
    [record] = [r for r in records if r.get("metered")]
    assert record["cut"] == "max_usd"


def test_a_stream_is_priced_by_the_model_that_answers() -> None:
    """Found: a request for a cheap model name that an upstream alias answers with a dear one was watched at
    the cheap price while it streamed, so the limit was crossed by the price ratio before the cut."""
    prices = PriceTable({"cheap": Price(0.25, 1.25), "dear": Price(5.0, 25.0)})
    budget = Budget(Limits(max_usd=0.10), prices)
    budget.admit(1, "cheap", 300, 200_000)
    assert budget.progress(1, Usage(input_tokens=100), True, 10_000) is None  # $0.0125 at the cheap price
    crossed = budget.progress(1, Usage(input_tokens=100), True, 10_000, answered="dear")  # $0.25 at the dear one
    assert crossed and crossed.startswith("max_usd")


def test_usage_survives_any_chunking_with_crlf_or_cr_line_ends() -> None:
    """SSE allows CRLF and lone CR line ends; a chunk may end between the CR and the LF."""
    step = {"text": "hi", "stream_tokens": True}
    usage = {"input_tokens": 7, "output_tokens": 1234}
    stream = b"".join(anthropic_events(step, "claude-x", 3, usage))
    for ending in (b"\r\n", b"\r"):
        converted = stream.replace(b"\n", ending)
        for size in (1, 2, 3, 7, 4096):
            meter = AnthropicMeter()
            for i in range(0, len(converted), size):
                meter.feed(converted[i : i + size])
            meter.close()
            r = meter.reading
            assert (r.input_tokens, r.output_tokens, r.final, r.stop_reason) == (7, 1234, True, "end_turn"), size
