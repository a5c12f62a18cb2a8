"""Benchmark OTLP export, in one run, against a real local receiver (Arize Phoenix).

    python bench/export_bench.py

* export of one stored run with 10,000 tool calls over OTLP/HTTP:   target <= 2 s
  (also measured against a null receiver that only reads the request, to
  separate agentctl's share from Phoenix's ingestion time)
* `agentctl run` wall time with export on vs off (the real Claude Code CLI on
  a scripted 50-tool-call session, median of 3 pairs):               target <= 2 % apart
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.support.phoenix import start as start_phoenix  # noqa: E402

from agentctl.model.run import AgentEvent, EventKind, RunStatus, Usage  # noqa: E402
from agentctl.pipeline.export import export_runs  # noqa: E402
from agentctl.redact import Redactor  # noqa: E402
from agentctl.store.sqlite import RunRecord, Store  # noqa: E402
from bench.run_bench import CLAUDE, timed_claude  # noqa: E402


def big_run(store: Store, tool_calls: int) -> RunRecord:
    run_id = f"bench-{tool_calls}"
    start = time.time() - tool_calls * 0.01
    store.create_run(
        RunRecord(id=run_id, agent="claude", status=RunStatus.RUNNING.value, started_at=start, model="claude-opus-5-5")
    )
    redactor = Redactor()
    seq = 0
    at = start
    for i in range(tool_calls):
        for event in (
            AgentEvent(
                EventKind.TURN, at, model="claude-opus-5-5", usage=Usage(1200, 80), data={"message_id": f"m{i}"}
            ),
            AgentEvent(
                EventKind.TOOL_START,
                at + 0.001,
                tool_id=f"toolu_{i}",
                tool_name="Bash",
                tool_input={"command": f"make t{i}"},
            ),
            AgentEvent(EventKind.TOOL_END, at + 0.005, tool_id=f"toolu_{i}", tool_output="ok\n" * 5),
        ):
            seq += 1
            store.append_event(run_id, seq, event.kind.value, event.at, redactor.json(event.to_record()))
        at += 0.01
    store.update_run(
        run_id, status=RunStatus.COMPLETED.value, ended_at=at, turns=tool_calls, tool_calls=tool_calls, session_id="s"
    )
    return store.get_run(run_id)


def export_to_null_receiver(store: Store, record: RunRecord) -> float:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Null(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Null)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    previous = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        start = time.perf_counter()
        [delivery] = export_runs(store, [record], capture_content=False)
        return time.perf_counter() - start if delivery.delivered else float("inf")
    finally:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = previous
        server.shutdown()


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="agentctl-export-bench-") as tmp:
        (Path(tmp) / "phoenix").mkdir()
        process, phoenix = start_phoenix(Path(tmp) / "phoenix")
        try:
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = phoenix.http
            os.environ["OTEL_RESOURCE_ATTRIBUTES"] = "openinference.project.name=bench"
            store = Store(Path(tmp) / "agentctl.db")
            record = big_run(store, 10_000)
            start = time.perf_counter()
            [delivery] = export_runs(store, [record], capture_content=False)
            elapsed = time.perf_counter() - start
            if not delivery.delivered:
                sys.exit("the receiver did not accept the spans")
            result = f"{elapsed:.2f} s for {delivery.spans:,} spans"
            rows.append(("export 10k calls, Phoenix", result, "<= 2 s", elapsed <= 2))
            null_elapsed = export_to_null_receiver(store, record)
            rows.append(("export 10k calls, null rcv", f"{null_elapsed:.2f} s (agentctl's own share)", "info", True))

            if CLAUDE.exists():
                repo = Path(tmp) / "repo"
                repo.mkdir()
                subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
                home = Path(tmp) / "home"
                home.mkdir()
                agentctl = [
                    str(Path(sys.executable).parent / "agentctl"),
                    "run",
                    "-q",
                    "--no-check",
                    "--max-repeats",
                    "1000",
                    "--",
                ]
                off, on = [], []
                for _ in range(3):
                    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
                    off.append(timed_claude(agentctl, repo, home, 50))
                    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = phoenix.http
                    on.append(timed_claude(agentctl, repo, home, 50))
                a, b = statistics.median(off), statistics.median(on)
                diff = (b - a) / a * 100
                rows.append(
                    (
                        "run wall, export on vs off",
                        f"off {a:.2f}s, on {b:.2f}s ({diff:+.1f}%)",
                        "<= 2 %",
                        abs(diff) <= 2,
                    )
                )
        finally:
            process.terminate()
    print(f"\n{'measurement':<30}{'result':<40}{'target':<10}ok")
    for name, result, target, ok in rows:
        print(f"{name:<30}{result:<40}{target:<10}{'yes' if ok else 'NO'}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
