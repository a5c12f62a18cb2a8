"""``agentctl gate``: the PreToolUse hook Claude Code and Codex run before each tool call.

Import-light on purpose (stdlib only until it must judge locally): inside
``agentctl run`` it forwards the payload to the run's gate server and prints
the decision. It fails closed: if the server cannot be reached, answers
nonsense or takes too long, the call is denied (an agent treats a crashing or
timed-out hook as "allow", so that must never happen).

Outside ``agentctl run`` (no ``AGENTCTL_GATE_SOCKET``) it judges the call
itself against ./policies and the built-in pack.
"""

from __future__ import annotations

import json
import os
import socket
import sys

MAX_PAYLOAD = 16 * 1024 * 1024
TIMEOUT = 20.0


def _answer(decision: str, reason: str) -> int:
    if decision != "allow":
        output = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }
        sys.stdout.write(json.dumps(output) + "\n")
        sys.stderr.write(reason + "\n")
    sys.stdout.flush()
    return 0


def _ask_server(path: str, agent: str, raw: str) -> tuple[str, str]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(TIMEOUT)
        conn.connect(path)
        conn.sendall((json.dumps({"agent": agent, "payload": raw}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data)
    decision, reason = reply["decision"], reply["reason"]
    if decision not in ("allow", "deny") or not isinstance(reason, str):
        raise ValueError("unexpected reply")
    return decision, reason


def _judge_locally(agent: str, raw: str) -> tuple[str, str]:
    from pathlib import Path

    from agentctl.gate.decide import Gatekeeper, load_book

    root = Path(os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd())
    policies = [root / "policies"] if (root / "policies").is_dir() else []
    decision = Gatekeeper(root, load_book(root, policies)).decide_raw(raw, agent)
    return decision.decision, decision.reason


def main(argv: list[str]) -> int:
    agent = "claude"
    if "--agent" in argv and argv.index("--agent") + 1 < len(argv):
        agent = argv[argv.index("--agent") + 1]
    try:
        raw = sys.stdin.buffer.read(MAX_PAYLOAD + 1).decode("utf-8", errors="replace")
    except OSError as exc:
        return _answer("deny", f"agentctl gate could not read the hook payload ({exc}); denying (fail closed)")
    if len(raw) > MAX_PAYLOAD:
        return _answer("deny", "agentctl gate: hook payload over 16 MiB; denying (fail closed)")
    path = os.environ.get("AGENTCTL_GATE_SOCKET")
    try:
        decision, reason = _ask_server(path, agent, raw) if path else _judge_locally(agent, raw)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = "the agentctl gate server is unreachable" if path else "agentctl gate failed"
        return _answer("deny", f"{where} ({type(exc).__name__}: {exc}); denying this tool call (fail closed)")
    except Exception as exc:  # fail closed on anything
        return _answer(
            "deny", f"agentctl gate error ({type(exc).__name__}: {exc}); denying this tool call (fail closed)"
        )
    return _answer(decision, reason)
