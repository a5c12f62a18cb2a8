"""The model gateway under attack: a real gateway (aiohttp, on its thread) in front of the scripted model server.

Everything runs on 127.0.0.1. The agent's side is played by plain HTTP clients
holding the run's placeholder key, as the agent would; the server records what
really reached it (and so what the provider would bill).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentctl.gateway.budget import Budget
from agentctl.gateway.server import BODY_LIMIT, Gateway
from agentctl.gateway.wiring import Plan, plan_claude
from agentctl.model.run import Usage
from agentctl.runner.limits import Limits
from agentctl.runner.pricing import Price, PriceTable
from tests.support.model_server import ModelServer

PRICE = Price(5, 25)
PRICES = PriceTable({"claude-opus": PRICE})
REAL_KEY = "sk-ant-real-key-of-the-user"


class Rig:
    def __init__(self, server: ModelServer, gateway: Gateway, budget: Budget, key: str) -> None:
        self.server, self.gateway, self.budget, self.key = server, gateway, budget, key
        self.records: list[dict[str, Any]] = []
        self.port = int(gateway.origin.rsplit(":", 1)[1])

    def send(self, target: str, body: bytes | dict[str, Any] = b"", method: str = "POST") -> tuple[int, bytes]:
        """One request exactly as written (the target is not normalised by any client library)."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
            connection.putheader("x-api-key", self.key)
            connection.putheader("content-type", "application/json")
            connection.putheader("content-length", str(len(raw)))
            connection.endheaders(raw)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def settled(self, count: int) -> None:
        """Wait until the gateway has recorded ``count`` model requests (it records after the last byte)."""
        deadline = time.monotonic() + 10
        while sum(1 for x in self.records if x.get("metered")) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def billed_usd(self) -> float:
        """What the provider would bill: the usage the server reported for each answer it streamed."""
        total = 0.0
        for request in self.server.requests:
            usage = request.get("usage")
            if usage and not request.get("disconnected"):
                total += PRICE.cost(Usage(usage["input_tokens"], usage["output_tokens"]))
        return total


@contextlib.contextmanager
def rig(steps: list[dict[str, Any]], limits: Limits, upstream_path: str = "", openai: bool = False) -> Iterator[Rig]:
    with ModelServer(steps, api_key=REAL_KEY) as server:
        if openai:
            plan = Plan("openai", server.url + "/v1", keys={"sk-agentctl-placeholder-x": REAL_KEY})
            plan.env["ANTHROPIC_API_KEY"] = "sk-agentctl-placeholder-x"
        else:
            plan = plan_claude({"ANTHROPIC_BASE_URL": server.url + upstream_path, "ANTHROPIC_API_KEY": REAL_KEY})
        budget = Budget(limits, PRICES)
        records: list[dict[str, Any]] = []
        gateway = Gateway(plan, budget, records.append)
        gateway.start()
        try:
            r = Rig(server, gateway, budget, plan.env["ANTHROPIC_API_KEY"])
            r.records = records
            yield r
        finally:
            gateway.stop()


def _request(max_tokens: int = 1000, stream: bool = True) -> dict[str, Any]:
    return {
        "model": "claude-opus-4",
        "max_tokens": max_tokens,
        "stream": stream,
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
    }


def test_only_the_model_apis_own_routes_are_forwarded() -> None:
    """Found: any path went upstream with the user's key, and a model call spelled ``/v1/%6Dessages`` was
    forwarded unmetered (the upstream decodes it to /v1/messages). Paid endpoints the meter cannot read
    (batches, legacy completions) and paths outside the configured base path are refused too."""
    step = {"text": "x", "stream_tokens": True, "usage": {"input_tokens": 100, "output_tokens": 50_000}}
    with rig([{"repeat": step}], Limits(max_usd=0.5), upstream_path="/tenant-a") as r:
        for target in (
            "/tenant-a/v1/%6Dessages",
            "/tenant-a/v1/messages%2F",
            "/tenant-a/v1/./messages",
            "/tenant-a/x/../v1/messages",
            "/tenant-a//v1/messages",
            "/tenant-a/v1/messages/batches",
            "/tenant-a/v1/complete",
            "/tenant-b/v1/messages",
            "/v1/messages",
        ):
            status, answer = r.send(target, _request(max_tokens=100_000))
            assert status == 404, target
            assert "not forwarded" in json.loads(answer)["error"]["message"], target
        assert r.server.requests == []  # nothing reached the provider: nothing was spent unmetered
        assert r.budget.cost_usd == 0
        # The agent's own routes still work: the metered model call (capped) and the free token count.
        assert r.send("/tenant-a/v1/messages/count_tokens", {"model": "claude-opus-4", "messages": []})[0] == 200
        assert r.send("/tenant-a/v1/messages?beta=true", _request(max_tokens=100_000))[0] == 200
    model_calls = [q for q in r.server.requests if q["path"].startswith("/tenant-a/v1/messages?")]
    assert len(model_calls) == 1 and model_calls[0]["body"]["max_tokens"] < 20_000  # capped by --max-usd
    assert r.billed_usd() <= 0.5 + 0.01  # the goal: at most one cent (or 5%) over
    refused = [x for x in r.records if x.get("error_type") == "route_refused"]
    assert len(refused) == 9


def test_a_model_request_that_is_not_a_json_object_is_not_forwarded() -> None:
    with rig([{"repeat": {"text": "x"}}], Limits(max_usd=0.5)) as r:
        status, _ = r.send("/v1/messages", b'["not", "an", "object"]')
        assert status == 400
        assert r.server.requests == []


def test_under_a_budget_input_stored_at_the_provider_is_refused() -> None:
    """Input the body does not carry (a previous response, a stored conversation, an uploaded file) cannot be
    reserved: its cost would only be known after it was spent."""
    body = {"model": "gpt-5", "stream": True, "input": [{"role": "user", "content": "go"}]}
    with rig([{"repeat": {"text": "x"}}], Limits(max_usd=0.5), openai=True) as r:
        for extra in ({"previous_response_id": "resp_1"}, {"conversation": "conv_1"}, {"background": True}):
            status, answer = r.send("/v1/responses", {**body, **extra})
            assert status == 400 and "whole input" in answer.decode(), extra
        assert r.server.requests == []
        assert r.send("/v1/responses", body)[0] == 200  # the ordinary request Codex sends
    document = {"type": "document", "source": {"type": "file", "file_id": "file_1"}}
    request = {**_request(), "messages": [{"role": "user", "content": [document]}]}
    with rig([{"repeat": {"text": "x"}}], Limits(max_usd=0.5)) as r:
        assert r.send("/v1/messages", request)[0] == 400 and r.server.requests == []
    with rig([{"repeat": {"text": "x"}}], Limits()) as r:  # no budget: nothing to reserve, forwarded
        assert r.send("/v1/messages", request)[0] == 200


def test_a_key_given_twice_reaches_the_upstream_once() -> None:
    """We read the last ``max_tokens`` (Python's json); an upstream that reads the first would get 100k."""
    text = json.dumps(_request(max_tokens=10))
    literal = text.replace('"max_tokens": 10', '"max_tokens": 100000, "max_tokens": 10')
    escaped = text.replace('"max_tokens": 10', '"max_tok\\u0065ns": 100000, "max_tokens": 10')
    with rig([{"repeat": {"text": "x"}}], Limits(max_usd=0.5)) as r:
        for raw in (literal, escaped):
            assert r.send("/v1/messages", raw.encode())[0] == 200
    for request in r.server.requests:
        assert request["raw"].count(b'"max_tokens"') == 1 and b"\\u0065" not in request["raw"]
        assert request["body"]["max_tokens"] == 10
    assert len(r.server.requests) == 2


@pytest.mark.parametrize("trick", ["no_usage", "crlf", "gzip"])
def test_usage_the_meter_cannot_read_is_charged_all_it_could_cost(trick: str) -> None:
    """Found: a stream without usage, with CRLF line ends or gzip-compressed was charged about nothing
    (gzip: $0), so the budget never tripped. Now the gateway never charges less than the provider bills."""
    step = {"text": "x", "stream_tokens": True, trick: True, "usage": {"input_tokens": 3000, "output_tokens": 4000}}
    with rig([{"repeat": step}], Limits(max_usd=5.0)) as r:
        for _ in range(3):
            status, _answer = r.send("/v1/messages", _request(max_tokens=8000))
            assert status == 200
        r.settled(3)
        billed = r.billed_usd()
        assert billed > 0.3
        assert r.budget.cost_usd >= billed


@pytest.mark.parametrize("trick", ["crlf", "plain"])
def test_a_burst_stream_with_any_line_endings_is_cut_at_the_crossing_event(trick: str) -> None:
    """Found: with CRLF line ends the meter saw no event at all, and a 100k-token answer streamed to the
    end under --max-usd 0.5 (about $2.50 spent)."""
    step = {
        "text": "x",
        "stream_tokens": True,
        "ignore_max_tokens": True,
        "delta_tokens": 500,
        "burst": True,
        trick: True,
        "usage": {"input_tokens": 2000, "output_tokens": 100_000},
    }
    with rig([step], Limits(max_usd=0.5)) as r:
        status, answer = r.send("/v1/messages", _request(max_tokens=128_000))
    assert status == 200
    text = answer.decode().replace("\r\n", "\n")
    deltas = [line for line in text.splitlines() if line.startswith("data:") and '"text_delta"' in line]
    streamed_tokens = sum(len(json.loads(line[5:])["delta"]["text"]) for line in deltas) // 4
    assert 0 < streamed_tokens <= 19_600 + 500  # $0.50 at $25/M, plus at most the delta that crossed
    assert "budget exhausted" in text
    r.settled(1)
    assert r.budget.exhausted and r.budget.exhausted.startswith("max_usd")


def test_two_parallel_requests_cannot_both_spend_what_is_left() -> None:
    """Two requests racing under one remaining budget: the second is reserved against the first's cap."""
    step = {
        "text": "x",
        "stream_tokens": True,
        "delay": 0.002,
        "usage": {"input_tokens": 1000, "output_tokens": 90_000},
    }
    with rig([{"repeat": step}], Limits(max_usd=1.0)) as r:
        statuses: list[int] = []
        start = threading.Barrier(4)

        def one() -> None:
            start.wait()
            statuses.append(r.send("/v1/messages", _request(max_tokens=90_000))[0])

        threads = [threading.Thread(target=one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(statuses) == 4 and 200 in statuses and 403 in statuses
        r.settled(4)
        assert r.billed_usd() <= 1.0 * 1.05
        assert r.budget.cost_usd <= 1.0 * 1.05


def test_the_agent_gets_no_other_model_providers_key() -> None:
    """Found: running Claude Code, the user's OPENAI_API_KEY (and Codex's ANTHROPIC_API_KEY) went to the
    agent as is: a model the gateway never sees, on the user's money."""
    from agentctl.gateway.attach import attach

    env = {
        "HOME": "/nonexistent",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "ANTHROPIC_API_KEY": REAL_KEY,
        "OPENAI_API_KEY": "sk-openai-real",
        "GEMINI_API_KEY": "gemini-real",
        "PATH": "/usr/bin",
    }
    attached = attach("claude", ["claude", "-p", "hi"], env, Limits(max_usd=1), PRICES, lambda record: None)
    try:
        attached.wait()
        values = set(attached.env.values())
        assert not {REAL_KEY, "sk-openai-real", "gemini-real"} & values
        assert attached.env["ANTHROPIC_API_KEY"].startswith("sk-ant-agentctl-placeholder-")
        assert attached.env["PATH"] == "/usr/bin"
    finally:
        attached.close()


GATEWAY_PROCESS = """
import sys
from agentctl.gateway.budget import Budget
from agentctl.gateway.server import BODY_LIMIT, Gateway
from agentctl.gateway.wiring import plan_claude
from agentctl.runner.limits import Limits
from agentctl.runner.pricing import PriceTable
plan = plan_claude({"ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "ANTHROPIC_API_KEY": "sk-ant-real"})
gateway = Gateway(plan, Budget(Limits(max_usd=1), PriceTable()), lambda record: None)
print(gateway.start(), flush=True)
sys.stdin.read()
gateway.stop()
"""


def test_what_an_agent_sends_never_reaches_agentctls_own_output(tmp_path: Path) -> None:
    """Found: a malformed request line made aiohttp log a traceback quoting it on agentctl's stderr (the
    run's terminal or CI log): an agent could print lines that look like agentctl's own."""
    script = tmp_path / "gateway_process.py"
    script.write_text(GATEWAY_PROCESS)
    process = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1])
        forged = "agentctl:_run_completed,_verdict_passed"
        for line in (f"POST @{forged} HTTP/1.1", f"POST /v1/messages HTTP/1.1\r\nX: {forged}\x00"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(line.encode() + b"\r\nContent-Length: 0\r\n\r\n")
                assert b" 400 " in connection.recv(100)
    finally:
        _out, err = process.communicate("", timeout=30)
    assert forged not in err and "Traceback" not in err, err


def test_a_body_dense_in_tokens_cannot_spend_its_input_past_the_budget() -> None:
    """Found: input was reserved at ~3 bytes per token until the provider said, so a conversation that read
    550 KB of digits (~2 bytes per token) into its context spent $1.40 of input under --max-usd 1 before the
    stream could be cut. New bytes are now reserved at the dense rate: the request is refused unsent."""
    small = {"text": "x", "stream_tokens": True, "usage": {"input_tokens": 1000, "output_tokens": 100}}
    first = _request(max_tokens=1000)
    first["messages"] = [{"role": "user", "content": "read the numbers " * 200}]
    dense = json.loads(json.dumps(first))
    dense["messages"].append({"role": "user", "content": "1 " * 280_000})
    size = len(json.dumps(dense))
    step = {"text": "x", "stream_tokens": True, "usage": {"input_tokens": size // 2, "output_tokens": 1000}}
    with rig([small, {"repeat": step}], Limits(max_usd=1.0)) as r:
        assert r.send("/v1/messages", first)[0] == 200
        r.settled(1)
        status, _answer = r.send("/v1/messages", dense)
        assert status == 403
        assert len(r.server.requests) == 1
        assert r.billed_usd() <= 1.0 and r.budget.cost_usd <= 1.0


def test_no_other_host_and_no_huge_body_is_forwarded() -> None:
    """An absolute-form request line naming another host goes to the configured upstream (if anywhere), and a
    body over the gateway's limit is answered 413 without being forwarded."""
    with ModelServer([{"repeat": {"text": "other"}}]) as other:
        with rig([{"repeat": {"text": "x"}}], Limits(max_usd=0.5)) as r:
            status, _ = r.send(f"{other.url}/v1/messages", _request())
            assert status == 200
            connection = http.client.HTTPConnection("127.0.0.1", r.port, timeout=60)
            try:
                connection.request("POST", "/v1/messages", body=b"x" * (BODY_LIMIT + 1), headers={"x-api-key": r.key})
                assert connection.getresponse().status == 413
            except (BrokenPipeError, ConnectionResetError):
                pass  # the gateway may close the connection while the rest of the body is still being sent
            finally:
                connection.close()
        assert other.requests == []
        assert len(r.server.requests) == 1 and r.server.requests[0]["path"] == "/v1/messages"
