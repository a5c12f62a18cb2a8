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
from typing import Any

from agentctl.gate.decide import Decision, Gatekeeper, load_book
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
            raw = self.rfile.readline(MAX_REQUEST + 1)
            try:
                request: Any = json.loads(raw)
                decision = keeper.decide_raw(str(request["payload"]), str(request.get("agent", "claude")))
            except (ValueError, KeyError, TypeError):
                decision = Decision("deny", "agentctl gate: malformed request from the hook; denying this tool call")
            except Exception as exc:  # fail closed, never crash the server
                decision = Decision(
                    "deny", f"agentctl gate error ({type(exc).__name__}: {exc}); denying this tool call"
                )
            self.wfile.write((json.dumps({"decision": decision.decision, "reason": decision.reason}) + "\n").encode())
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
