"""``agentctl gate``: the PreToolUse hook Claude Code and Codex run before each tool call.

Inside ``agentctl run`` the agents call the even lighter ``gate/client.py``
directly; this entry point forwards to it when ``AGENTCTL_GATE_SOCKET`` is set.
Either way it fails closed: if the server cannot be reached, answers nonsense
or takes too long, the call is denied (an agent treats a crashing or timed-out
hook as "allow", so that must never happen).

Outside ``agentctl run`` (no ``AGENTCTL_GATE_SOCKET``) it asks the
repository's standalone gate server, or judges the call itself, within a
deadline (see ``gate/standalone.py``), against ./policies and the built-in pack.
"""

from __future__ import annotations

import os

from agentctl.gate import client


def _process_age() -> float:
    """Seconds since this process started (the interpreter's own start-up counts against the deadline)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def main(argv: list[str]) -> int:
    if os.environ.get("AGENTCTL_GATE_SOCKET"):
        return client.main(argv)
    import time

    from agentctl.gate import standalone

    return standalone.main(argv, time.monotonic() - _process_age())
