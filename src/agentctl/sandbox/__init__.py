"""The enforcement boundary around the agent: one interface, one backend per platform.

``agentctl run`` asks :func:`select` for a backend (``--sandbox auto|bwrap|off``)
and fails closed (exit 2 with a hint) when none can be built, unless the user
turned the sandbox off, which the run record then says.
"""

from __future__ import annotations

import sys

from agentctl.sandbox.interface import Backend, Profile, SandboxError

MODES = ("auto", "bwrap", "off")

__all__ = ["MODES", "Backend", "Profile", "SandboxError", "select"]


def select(mode: str) -> Backend | None:
    """The working backend for ``mode`` (``None`` for ``off``); raises :class:`SandboxError` otherwise."""
    if mode == "off":
        return None
    if mode not in MODES:
        raise SandboxError(f"unknown sandbox '{mode}'", "use one of: " + ", ".join(MODES))
    if mode == "auto" and not sys.platform.startswith("linux"):
        raise SandboxError(
            f"no sandbox backend for this platform ({sys.platform}) yet",
            "pass --sandbox off to run unsandboxed (recorded; such runs never count as clean trust evidence)",
        )
    from agentctl.sandbox.bwrap import BwrapBackend

    backend = BwrapBackend()
    reason = backend.available()
    if reason is not None:
        raise SandboxError(f"the sandbox cannot be built: {reason}", backend.install_hint)
    return backend
