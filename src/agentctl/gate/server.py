"""``agentctl gate serve``: the per-run gate server behind a Unix socket.

Policies are compiled once; each hook connection sends one payload and gets
one decision. Every decision is also printed as a JSON line on stdout, which
``agentctl run`` reads into the run record.
"""

from __future__ import annotations

import json
import os
import socketserver
import sys
import threading
import time
from pathlib import Path

from agentctl.gate import client
from agentctl.gate.decide import Decision, Gatekeeper, hook_output, load_book
from agentctl.redact import Redactor

MAX_REQUEST = 16 * 1024 * 1024


def serve(socket_path: Path, root: Path, policy_dirs: list[Path], builtin: bool, run_id: str | None) -> int:
    keeper = Gatekeeper(root, load_book(root, policy_dirs, builtin), run_id)
    redactor = Redactor()
    lock = threading.Lock()

    def report(decision: Decision) -> None:
        line = redactor.json({**decision.event(), "at": time.time()})
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            header = self.rfile.readline(256)
            raw = self.rfile.read(MAX_REQUEST + 1)
            parts = header.split()
            if len(parts) != 2 or parts[0] != client.PROTOCOL:
                decision = Decision("deny", "agentctl gate: malformed request from the hook; denying this tool call")
            elif len(raw) > MAX_REQUEST:
                decision = Decision("deny", "agentctl gate: hook payload over 16 MiB; denying this tool call")
            else:
                try:
                    decision = keeper.decide_raw(raw.decode("utf-8", errors="replace"), parts[1].decode())
                except Exception as exc:  # fail closed, never crash the server
                    reason = f"agentctl gate error ({type(exc).__name__}: {exc}); denying this tool call"
                    decision = Decision("deny", reason)
            self.wfile.write(b"OK\n" + hook_output(decision))
            report(decision)

    if socket_path.exists():
        socket_path.unlink()
    server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
    server.daemon_threads = True
    os.chmod(socket_path, 0o600)
    sys.stdout.write(json.dumps({"kind": "ready", "pid": os.getpid(), "tool_rules": len(keeper.tool_rules)}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
