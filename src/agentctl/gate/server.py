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

from agentctl import identity
from agentctl.gate import client
from agentctl.gate.decide import Decision, Gatekeeper, hook_output, load_book
from agentctl.redact import Redactor

MAX_REQUEST = 16 * 1024 * 1024


PROMPT_TIMEOUT = 300.0
"""Seconds a person has to answer an approval prompt; silence denies."""


class _Terminal:
    """The person at agentctl's terminal, asked before a require_approval call runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # A terminal is not seekable, so reading and writing get separate unbuffered handles.
        self.reader = os.open("/dev/tty", os.O_RDONLY)
        self.tty = open("/dev/tty", "w", encoding="utf-8", errors="replace")  # noqa: SIM115 - lives with the server

    def ask(self, decision: Decision) -> bool:
        import select

        lines = [f"[{f.rule_id}] {f.message}" for f in decision.findings if f.action.value == "require_approval"]
        tool = decision.tool.name if decision.tool else "tool"
        paths = ", ".join(decision.tool.paths) if decision.tool and decision.tool.paths else ""
        with self.lock:
            self.tty.write(f"\n\a⏸  agentctl: the agent's {tool} {paths} needs approval:\n")
            for line in lines:
                self.tty.write(f"     {line}\n")
            self.tty.write(f"   Allow this call? [y/N] ({PROMPT_TIMEOUT:.0f}s) ")
            self.tty.flush()
            ready, _, _ = select.select([self.reader], [], [], PROMPT_TIMEOUT)
            answer = os.read(self.reader, 1024).decode(errors="replace").strip().lower() if ready else ""
            self.tty.write("   → allowed\n" if answer in ("y", "yes") else "   → denied\n")
            self.tty.flush()
        return answer in ("y", "yes")


def serve(
    socket_path: Path,
    root: Path,
    policy_dirs: list[Path],
    builtin: bool,
    run_id: str | None,
    interactive: bool = False,
    standalone: str | None = None,
    base_commit: str | None = None,
) -> int:
    """Serve decisions on ``socket_path``; ``standalone`` is the policy fingerprint of a per-repository server."""
    from agentctl.runner.verify import Verifier, VerifyGate, post_output, reads_only, verify_event

    keeper = Gatekeeper(root, load_book(root, policy_dirs, builtin), run_id)
    checked = VerifyGate(Verifier(keeper.root, base_commit, keeper.evaluator), enabled=run_id is not None)
    terminal: _Terminal | None = None
    if interactive:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is agentctl's to handle; it stops us
        try:
            terminal = _Terminal()
        except OSError:
            terminal = None
    approver = identity.current(root) if terminal is not None else ""
    redactor = Redactor()
    lock = threading.Lock()

    last_request = [time.monotonic()]

    def report(decision: Decision | dict[str, object]) -> None:
        last_request[0] = time.monotonic()
        if standalone is not None:
            return  # nobody records a standalone server's decisions
        event = decision.event() if isinstance(decision, Decision) else decision
        line = redactor.json({**event, "at": time.time()})
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            header = self.rfile.readline(256)
            raw = self.rfile.read(MAX_REQUEST + 1)
            parts = header.split()
            if len(parts) == 2 and parts[0] == client.POST_PROTOCOL:
                self.after_tool(raw)
                return
            if len(parts) != 2 or parts[0] != client.PROTOCOL:
                decision = Decision("deny", "agentctl gate: malformed request from the hook; denying this tool call")
            elif len(raw) > MAX_REQUEST:
                decision = Decision("deny", "agentctl gate: hook payload over 16 MiB; denying this tool call")
            else:
                try:
                    decision = keeper.decide_raw(raw.decode("utf-8", errors="replace"), parts[1].decode())
                    if terminal is not None and decision.needs_approval_only and terminal.ask(decision):
                        decision = decision.approved_by(approver)
                        checked.approve(decision.tool)
                    if decision.decision == "allow" and decision.tool is not None:
                        blocked, moved = checked.check(decision.tool)
                        if moved:
                            report(verify_event(checked, None))
                        if blocked:
                            reason = checked.reason(blocked)
                            decision = Decision("deny", reason, [*decision.findings, *blocked], decision.tool)
                        else:
                            checked.allowed(decision.tool)
                except Exception as exc:  # fail closed, never crash the server
                    reason = f"agentctl gate error ({type(exc).__name__}: {exc}); denying this tool call"
                    decision = Decision("deny", reason)
            report(decision)  # on record before the agent can run the tool: the tripwire counts on it
            self.wfile.write(b"OK\n" + hook_output(decision))

        def after_tool(self, raw: bytes) -> None:
            """PostToolUse (or agentctl's own nudge after a tool result): verify the worktree now."""
            try:
                found, moved = (checked.blockers, False) if reads_only(raw) else checked.verify()
            except Exception as exc:  # the block stays as it was; the next verify tries again
                report({"kind": "verify", "decision": "error", "reason": f"verify failed: {exc}"})
                found, moved = checked.blockers, False
            if moved:
                report(verify_event(checked, raw))
            self.wfile.write(b"OK\n" + (post_output(checked.reason(found)) if found else b""))

    if standalone is not None:
        return _serve_standalone(socket_path, root, standalone, Handler, last_request)
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


IDLE_SECONDS = 900.0


def _serve_standalone(
    socket_path: Path,
    root: Path,
    print_: str,
    handler: type[socketserver.StreamRequestHandler],
    last_request: list[float],
) -> int:
    """A per-repository server for standalone hooks: atomic start, exits when idle or when policies change."""
    from agentctl.gate import standalone

    if _alive(socket_path):
        return 0  # another hook started one first
    temporary = socket_path.with_name(f".{os.getpid()}.tmp")
    server = socketserver.ThreadingUnixStreamServer(str(temporary), handler)
    server.daemon_threads = True
    os.chmod(temporary, 0o600)
    os.replace(temporary, socket_path)
    inode = os.stat(socket_path).st_ino
    idle = float(os.environ.get("AGENTCTL_GATE_IDLE") or IDLE_SECONDS)

    def watch() -> None:
        while True:
            time.sleep(min(5.0, idle))
            stale = standalone.fingerprint(root) != print_
            if stale or time.monotonic() - last_request[0] > idle or _inode(socket_path) != inode:
                break
        if _inode(socket_path) == inode:
            socket_path.unlink(missing_ok=True)
        server.shutdown()

    threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _alive(path: Path) -> bool:
    import socket

    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()
