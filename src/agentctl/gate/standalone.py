"""``agentctl gate`` wired into a user's own hook settings (no ``agentctl run``): fast, bounded, fail-closed.

Every call answers within a deadline (default 5 s; ``--deadline SECONDS`` or
``AGENTCTL_GATE_DEADLINE``; keep it below the agent's hook timeout) and
denies when it cannot decide in time.

To be fast it asks a per-repository gate server, started on first use and
reused by later calls. Its socket lives in a private directory (mode 0700,
owned by the user: ``$XDG_RUNTIME_DIR/agentctl-gate`` or
``/tmp/agentctl-gate-UID``) under a name derived from the repository and a
fingerprint of the policies and of agentctl itself, so a policy change starts
a fresh server; an old one notices the change and exits, and any server exits
after it has been idle for a while (``AGENTCTL_GATE_IDLE``, default 900 s).

No server reachable: one is started in the background and this call is
judged in-process, within the same deadline. ``AGENTCTL_GATE_SERVER=off``
always judges in-process.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from typing import Any

from agentctl.gate import client

DEFAULT_DEADLINE = 5.0
MAX_SOCKET_PATH = 100
"""Unix socket paths are limited to 107 bytes; the server binds a slightly longer temporary name first."""
MARGIN = 0.15
"""Seconds kept back to print the answer before the deadline."""


def deadline_seconds(argv: list[str]) -> float:
    raw = os.environ.get("AGENTCTL_GATE_DEADLINE", "")
    if "--deadline" in argv[:-1]:
        raw = argv[argv.index("--deadline") + 1]
    try:
        value = float(raw) if raw else DEFAULT_DEADLINE
    except ValueError:
        value = DEFAULT_DEADLINE
    return min(max(value, 0.2), 600.0)


def repo_root() -> str:
    start = candidate = os.path.realpath(os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd())
    while True:
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return start
        candidate = parent


def _sha256(data: bytes) -> Any:
    """SHA-256 without importing hashlib (and OpenSSL): this runs on every standalone call."""
    try:
        import _sha256  # type: ignore[import-not-found]

        return _sha256.sha256(data)
    except ImportError:  # pragma: no cover - CPython always has it; other interpreters have hashlib
        import hashlib

        return hashlib.sha256(data)


def fingerprint(root: str | os.PathLike[str]) -> str:
    """Changes when a policy file, agentctl.yaml or agentctl's own code changes."""
    import agentctl

    digest = _sha256(f"{sys.executable}\0{agentctl.__version__}\0{root}\0".encode())
    package = os.path.dirname(agentctl.__file__)
    watched = [os.path.join(root, "agentctl.yaml")]
    for folder in (
        os.path.join(root, "policies"),
        os.path.join(package, "policy", "builtin"),
        os.path.join(package, "gate"),
        os.path.join(package, "sources"),
    ):
        try:
            watched += sorted(os.path.join(folder, name) for name in os.listdir(folder))
        except OSError:
            continue
    for path in watched:
        try:
            info = os.stat(path)
        except OSError:
            continue
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return str(digest.hexdigest())[:20]


def private_dir() -> str | None:
    """A directory only this user can enter, or ``None`` (then no server is used)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = os.path.join(base, "agentctl-gate") if base else f"/tmp/agentctl-gate-{os.getuid()}"
    try:
        if not os.path.lexists(folder):
            os.mkdir(folder, 0o700)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return folder


def socket_path(root: str, print_: str) -> str | None:
    folder = private_dir()
    if folder is None:
        return None
    name = str(_sha256(f"{root}\0{print_}".encode()).hexdigest())[:16]
    path = os.path.join(folder, f"{name}.sock")
    return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH else None


def spawn(path: str, root: str, print_: str) -> None:
    """Start the repository's gate server in the background (detached; it outlives this hook)."""
    import subprocess

    command = [sys.executable, "-m", "agentctl", "gate", "serve", "--standalone", "--socket", path]
    command += ["--root", root, "--fingerprint", print_]
    try:
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            cwd=root,
        )
    except OSError:
        return


class _Answer:
    """The one answer this process prints: the first of the decision and the deadline wins."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False

    def give(self, output: bytes) -> None:
        with self.lock:
            if self.done:
                return
            self.done = True
            sys.stdout.buffer.write(output)
            sys.stdout.flush()


def _judge_in_process(root: str, agent: str, raw: bytes) -> bytes:
    from pathlib import Path

    from agentctl.gate.decide import Gatekeeper, hook_output, load_book
    from agentctl.policy import default_dirs

    keeper = Gatekeeper(Path(root), load_book(Path(root), default_dirs(Path(root))))
    return hook_output(keeper.decide_raw(raw.decode("utf-8", errors="replace"), agent))


def main(argv: list[str], started: float) -> int:
    agent = argv[argv.index("--agent") + 1] if "--agent" in argv[:-1] else "claude"
    deadline = started + deadline_seconds(argv)
    answer = _Answer()

    def too_late() -> None:
        reason = "agentctl gate could not decide within its deadline; denying this tool call (fail closed)"
        answer.give(client.deny_output(reason))
        sys.stderr.write(reason + "\n")
        sys.stderr.flush()
        os._exit(0)

    watchdog = threading.Timer(max(deadline - time.monotonic() - MARGIN, 0.0), too_late)
    watchdog.daemon = True
    watchdog.start()
    try:
        raw = sys.stdin.buffer.read(client.MAX_PAYLOAD + 1)
        if len(raw) > client.MAX_PAYLOAD:
            raise ValueError("hook payload over 16 MiB")
        root = repo_root()
        output = None
        if os.environ.get("AGENTCTL_GATE_SERVER", "").lower() not in ("off", "0", "no"):
            print_ = fingerprint(root)
            path = socket_path(root, print_)
            if path is not None:
                try:
                    output = client.ask(path, agent, raw, max(deadline - time.monotonic() - MARGIN, 0.05))
                except (OSError, ValueError) as exc:
                    if isinstance(exc, TimeoutError):
                        raise
                    spawn(path, root, print_)
        if output is None:
            output = _judge_in_process(root, agent, raw)
    except Exception as exc:  # fail closed on anything
        reason = f"agentctl gate failed ({type(exc).__name__}: {exc}); denying this tool call (fail closed)"
        output = client.deny_output(reason)
        sys.stderr.write(reason + "\n")
    watchdog.cancel()
    answer.give(output)
    return 0
