"""Benchmark the model gateway's overhead against direct requests to the same local server, in one run.

    python bench/gateway_bench.py [--requests 2000] [--memory-requests 10000] [--megabytes 200]

Three processes, as in a real run: a local model API (aiohttp, streaming
Anthropic-style SSE), the gateway (started exactly as ``agentctl run`` starts
it, on a thread of its own process, metering every response and handing each
record over a queue), and the client (this process, keep-alive connections,
like the agent's SDK). Each measurement is taken direct and through the
gateway, interleaved, against the same server.

* added latency, small streamed answer (p95)        target: <= 2 ms
* added time to first byte (p95)                    target: <= 1 ms
* throughput of one large streamed answer           target: >= 50 MB/s
* gateway memory (RSS) after 1,000 vs after --memory-requests requests: flat (growth <= 10 MB)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent

UPSTREAM = textwrap.dedent(
    """
    import asyncio, json, sys
    from aiohttp import web

    def sse(event, data):
        return f"event: {event}\\ndata: {json.dumps(data)}\\n\\n".encode()

    START = sse("message_start", {"type": "message_start", "message": {"id": "msg_1", "type": "message",
        "role": "assistant", "model": "claude-bench", "content": [], "stop_reason": None,
        "usage": {"input_tokens": 1200, "output_tokens": 1, "cache_read_input_tokens": 5000}}})
    DELTA = sse("content_block_delta", {"type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": "word " * 40}})
    END = sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 80}}) + sse("message_stop", {"type": "message_stop"})
    BIG = sse("content_block_delta", {"type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": "word " * 3000}})

    async def messages(request):
        body = await request.json()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(START)
        if body.get("bench_megabytes"):
            chunks = int(body["bench_megabytes"] * 1_000_000 / len(BIG))
            for _ in range(chunks):
                await response.write(BIG)
        else:
            for _ in range(5):
                await response.write(DELTA)
        await response.write(END)
        await response.write_eof()
        return response

    app = web.Application(client_max_size=1 << 24)
    app.router.add_post("/v1/messages", messages)
    async def main():
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Event().wait()
    asyncio.run(main())
    """
)

GATEWAY = textwrap.dedent(
    """
    import json, queue, sys, threading
    from agentctl.gateway.budget import Budget
    from agentctl.gateway.server import Gateway
    from agentctl.gateway.wiring import Plan
    from agentctl.runner.limits import Limits
    from agentctl.runner.pricing import PriceTable

    lines = queue.Queue()
    def consume():  # the supervisor's side: decode each record
        while True:
            json.loads(lines.get())
    threading.Thread(target=consume, daemon=True).start()
    plan = Plan("anthropic", sys.argv[1], keys={"sk-ant-placeholder": "sk-ant-real"})
    gateway = Gateway(plan, Budget(Limits(max_usd=1e9), PriceTable()), lambda r: lines.put(json.dumps(r)))
    print(gateway.start(), flush=True)
    sys.stdin.read()
    gateway.stop()
    """
)


def spawn(code: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Client:
    """One keep-alive connection, as an SDK keeps one."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        self.body = json.dumps(
            {
                "model": "claude-bench",
                "max_tokens": 4096,
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            }
        ).encode()
        self.headers = {"Content-Type": "application/json", "x-api-key": "sk-ant-placeholder"}

    def request(self, body: bytes | None = None) -> tuple[float, float, int]:
        """(seconds to the first body byte, seconds to the last, bytes)."""
        start = time.perf_counter()
        self.connection.request("POST", "/v1/messages", body=body or self.body, headers=self.headers)
        response = self.connection.getresponse()
        first = response.read1(65536)
        ttfb = time.perf_counter() - start
        size = len(first)
        while chunk := response.read1(1 << 20):
            size += len(chunk)
        return ttfb, time.perf_counter() - start, size


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--memory-requests", type=int, default=10_000)
    parser.add_argument("--megabytes", type=float, default=200)
    args = parser.parse_args()

    upstream, url = spawn(UPSTREAM)
    gateway, origin = spawn(GATEWAY, url)
    try:
        direct, proxied = Client(url), Client(origin)
        for _ in range(200):  # warm both paths
            direct.request()
            proxied.request()
        d_ttfb, d_total, g_ttfb, g_total = [], [], [], []
        for _ in range(args.requests):
            a, b, _size = direct.request()
            c, d, _size = proxied.request()
            d_ttfb.append(a)
            d_total.append(b)
            g_ttfb.append(c)
            g_total.append(d)
        added_p95 = (percentile(g_total, 0.95) - percentile(d_total, 0.95)) * 1000
        added_ttfb = (percentile(g_ttfb, 0.95) - percentile(d_ttfb, 0.95)) * 1000
        print(f"small streamed answer, {args.requests} requests each way")
        print(f"  direct  p50 {percentile(d_total, 0.5) * 1000:.2f} ms  p95 {percentile(d_total, 0.95) * 1000:.2f} ms")
        print(f"  gateway p50 {percentile(g_total, 0.5) * 1000:.2f} ms  p95 {percentile(g_total, 0.95) * 1000:.2f} ms")
        ratio = percentile(g_total, 0.95) / percentile(d_total, 0.95)
        print(f"  added p95 latency {added_p95:.2f} ms (target <= 2)  ratio {ratio:.2f}x")
        print(f"  added p95 time to first byte {added_ttfb:.2f} ms (target <= 1)")

        big = json.dumps({"model": "claude-bench", "stream": True, "bench_megabytes": args.megabytes}).encode()
        _, d_seconds, d_bytes = direct.request(big)
        _, g_seconds, g_bytes = proxied.request(big)
        d_rate, g_rate = d_bytes / d_seconds / 1e6, g_bytes / g_seconds / 1e6
        print(f"large streamed answer, {g_bytes / 1e6:.0f} MB")
        print(f"  direct {d_rate:.0f} MB/s, gateway {g_rate:.0f} MB/s (target >= 50)  ratio {g_rate / d_rate:.2f}x")

        extra = max(args.memory_requests - 1000, 0)
        for _ in range(1000):
            proxied.request()
        before = rss_mb(gateway.pid)
        for _ in range(extra):
            proxied.request()
        after = rss_mb(gateway.pid)
        print(f"gateway memory: {before:.1f} MB after 1,000 requests, {after:.1f} MB after {1000 + extra:,}")
        print(f"  growth {after - before:+.1f} MB (target: flat, <= 10 MB)")
        ok = added_p95 <= 2 and added_ttfb <= 1 and g_rate >= 50 and after - before <= 10
        print("PASS" if ok else "FAIL: a target was missed (see above)")
        return 0 if ok else 1
    finally:
        for process in (gateway, upstream):
            if process.stdin:
                process.stdin.close()
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
