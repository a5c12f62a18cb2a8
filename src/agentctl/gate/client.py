"""The hook process agents start before every tool call, inside ``agentctl run``.

Runs as ``python -S client.py --agent NAME``: no site, no agentctl import, no
json, only the C socket module, so it starts in a few milliseconds. It passes
the payload to the run's gate server and prints the server's answer verbatim.
Anything going wrong denies the call (fail closed): an agent treats a crashing
or timed-out hook as "allow", so this must never crash or hang.
"""

import os
import sys

PROTOCOL = b"agentctl-gate/1"
POST_PROTOCOL = b"agentctl-post/1"
"""After a tool call (``--post``, Claude's PostToolUse): the server verifies the worktree."""
MAX_PAYLOAD = 16 * 1024 * 1024
TIMEOUT = 20.0


def _escape(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def deny_output(reason: str) -> bytes:
    body = (
        '{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", '
        f'"permissionDecisionReason": "{_escape(reason)}"}}}}\n'
    )
    return body.encode("utf-8")


def ask(path: str, agent: str, payload: bytes, timeout: float | None = None, protocol: bytes = PROTOCOL) -> bytes:
    """The server's hook output for this payload (may be empty: no objection)."""
    import _socket

    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout if timeout is not None else float(os.environ.get("AGENTCTL_GATE_TIMEOUT") or TIMEOUT))
        conn.connect(path)
        conn.sendall(protocol + b" " + agent.encode() + b"\n" + payload)
        conn.shutdown(_socket.SHUT_WR)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        conn.close()
    reply = b"".join(chunks)
    if not reply.startswith(b"OK\n"):
        raise ValueError("the gate server sent no decision")
    return reply[3:]


def main(argv: list[str]) -> int:
    agent = argv[argv.index("--agent") + 1] if "--agent" in argv[:-1] else "claude"
    path = os.environ.get("AGENTCTL_GATE_SOCKET", "")
    if "--post" in argv:
        return post(path, agent)
    try:
        payload = sys.stdin.buffer.read(MAX_PAYLOAD + 1)
        if len(payload) > MAX_PAYLOAD:
            raise ValueError("hook payload over 16 MiB")
        if not path:
            raise ValueError("AGENTCTL_GATE_SOCKET is not set")
        output = ask(path, agent, payload)
    except Exception as exc:  # fail closed on anything at all
        reason = (
            f"the agentctl gate server is unreachable ({type(exc).__name__}: {exc}); "
            "denying this tool call (fail closed)"
        )
        output = deny_output(reason)
        sys.stderr.write(reason + "\n")
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


def post(path: str, agent: str) -> int:
    """PostToolUse: the tool already ran, so nothing here can deny it; the server's verdict
    (if any) tells the model, and the next PreToolUse denies. Failing quietly is safe."""
    try:
        payload = sys.stdin.buffer.read(MAX_PAYLOAD + 1)
        output = ask(path, agent, payload[:MAX_PAYLOAD], protocol=POST_PROTOCOL) if path else b""
    except Exception as exc:
        sys.stderr.write(f"agentctl verify unreachable ({type(exc).__name__}: {exc})\n")
        output = b""
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
