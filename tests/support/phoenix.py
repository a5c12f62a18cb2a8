"""Arize Phoenix as a real OTLP receiver for tests and benchmarks, on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Phoenix:
    def __init__(self, http_port: int, grpc_port: int) -> None:
        self.http = f"http://127.0.0.1:{http_port}"
        self.grpc = f"http://127.0.0.1:{grpc_port}"

    def spans(self, project: str, expected: int = 1, timeout: float = 30) -> list[dict]:
        """Every span of a project, waiting until at least ``expected`` arrived (ingestion is async)."""
        deadline = time.monotonic() + timeout
        spans: list[dict] = []
        while time.monotonic() < deadline:
            spans = []
            cursor = None
            while True:
                url = f"{self.http}/v1/projects/{project}/spans?limit=1000" + (f"&cursor={cursor}" if cursor else "")
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        page = json.load(response)
                except OSError:
                    page = {"data": [], "next_cursor": None}
                spans += page["data"]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            if len(spans) >= expected:
                time.sleep(0.5)  # let stragglers land, so "exactly once" is meaningful
                return spans
            time.sleep(0.3)
        return spans


def start(workdir: Path, timeout: float = 180) -> tuple[subprocess.Popen[bytes], Phoenix]:
    """``phoenix serve`` on free loopback ports; raises RuntimeError if it does not come up."""
    binary = Path(sys.executable).parent / "phoenix"
    if not binary.exists():
        raise FileNotFoundError("phoenix is not installed (pip install -e '.[test]')")
    http_port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log_path = workdir / "phoenix.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(binary), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Phoenix(http_port, grpc_port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.http}/v1/projects", timeout=2):
                return process, server
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"phoenix exited: {log_path.read_text()[-2000:]}") from None
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"phoenix did not start in {timeout:.0f} s")
