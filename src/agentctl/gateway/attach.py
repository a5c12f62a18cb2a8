"""Putting the gateway between one run's agent and its model API (what the supervisor calls).

``attach`` starts the gateway and returns the agent's command and environment
pointed at it, or says why the run falls back to the agent's own event stream
(signed cloud requests, ``--no-gateway``). While it runs, the real keys are
taken out of agentctl's own environment (so the gate server and anything else
agentctl starts never carry them) and agentctl's process is made non-dumpable
(so a process of the same user cannot read them from ``/proc/<pid>/environ``
or memory).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentctl.gateway.budget import Budget
from agentctl.gateway.server import Gateway, GatewayError
from agentctl.gateway.wiring import Plan, Unsupported, apply, checked_url, plan_for
from agentctl.runner.limits import Limits
from agentctl.runner.pricing import PriceTable

MODEL_KEY_ENV = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_API_KEY",
        "CODEX_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "MISTRAL_API_KEY",
        "OPENROUTER_API_KEY",
        "GROQ_API_KEY",
        "DEEPSEEK_API_KEY",
        "XAI_API_KEY",
        "TOGETHER_API_KEY",
        "FIREWORKS_API_KEY",
        "COHERE_API_KEY",
    }
)
"""Model API keys an agent behind the gateway never gets (its own provider's is replaced by a placeholder)."""


@dataclass
class Attached:
    command: list[str]
    env: dict[str, str]
    gateway: Gateway | None = None
    accounting: str = "gateway"
    """``gateway`` (exact, from the provider's stream) or ``agent-stream`` (the agent's events)."""
    note: str | None = None
    _removed: dict[str, str] = field(default_factory=dict)
    _plan: Plan | None = None

    def wait(self) -> None:
        """Block until the gateway listens, then point the agent's command and environment at it."""
        if self.gateway is None or self._plan is None:
            return
        origin = self.gateway.wait()
        self.command, self.env = apply(self._plan, self.command, self.env, self._plan.local_url(origin))
        self._plan = None

    def close(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        os.environ.update(self._removed)
        self._removed.clear()


def attach(
    agent: str,
    command: list[str],
    env: dict[str, str],
    limits: Limits,
    prices: PriceTable,
    emit: Callable[[dict[str, Any]], None],
    enabled: bool = True,
    capture: bool = False,
    upstream: str | None = None,
) -> Attached:
    """The gateway started (or the fallback), and the agent's own trace export handed to agentctl.

    The gateway starts on its thread while the caller starts other things; call
    :meth:`Attached.wait` before using ``command`` and ``env``. The real keys
    are out of agentctl's environment when this returns.
    """
    from agentctl.export import agent_otel

    attached = _attach(agent, command, env, limits, prices, emit, enabled, capture, upstream)
    attached.command, attached.env, note = agent_otel.apply(agent, attached.command, attached.env)
    if note:
        attached.note = f"{attached.note}; {note}" if attached.note else note
    return attached


def _attach(
    agent: str,
    command: list[str],
    env: dict[str, str],
    limits: Limits,
    prices: PriceTable,
    emit: Callable[[dict[str, Any]], None],
    enabled: bool = True,
    capture: bool = False,
    upstream: str | None = None,
) -> Attached:
    if not enabled:
        return Attached(command, env, accounting="agent-stream", note="model gateway off (--no-gateway)")
    try:
        plan = plan_for(agent, command, env)
        if upstream:
            plan.upstream = checked_url(upstream, "--upstream").rstrip("/")
    except Unsupported as exc:
        return Attached(command, env, accounting="agent-stream", note=f"model gateway not used: {exc}")
    except ValueError as exc:
        raise GatewayError(f"the model gateway cannot start: {exc}", "fix the URL, or pass --no-gateway") from None
    gateway = Gateway(plan, Budget(limits, prices), emit, capture)
    gateway.begin()
    secrets = set(plan.keys.values())
    # The agent reaches a model only through the gateway: no other provider's key (nor a copy of the real one
    # under another name) goes with it, or it could call that model directly, unmetered, on the user's money.
    env = {k: v for k, v in env.items() if k in plan.env or (k not in MODEL_KEY_ENV and v not in secrets)}
    attached = Attached(command, env, gateway, _plan=plan)
    for name, value in list(os.environ.items()):
        if value in secrets:
            attached._removed[name] = os.environ.pop(name)
    if secrets:
        _not_dumpable()
        _scrub_initial_environ(secrets)
    return attached


def _scrub_initial_environ(secrets: set[str]) -> None:
    """Overwrite the keys in the environment block the kernel shows as ``/proc/<pid>/environ``.

    Python copied that block into ``os.environ`` at start-up and the key was
    just unset from the C environment, so nothing reads these bytes any more.
    Non-dumpable already hides them from other users' and same-user processes;
    this also covers a reader with CAP_SYS_PTRACE (an agent running as root).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (stat fields 50, 51)
        if not 0 < start < end or end - start > 16 << 20:
            return
        block = ctypes.string_at(start, end - start)
        for secret in secrets:
            raw = secret.encode()
            index = block.find(raw)
            while index >= 0:
                ctypes.memset(start + index, ord("*"), len(raw))
                index = block.find(raw, index + len(raw))
    except (OSError, ValueError, IndexError):
        return


def _not_dumpable() -> None:
    """Linux: ``/proc/<agentctl>/environ`` and ``mem`` become root-only (PR_SET_DUMPABLE 0)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_dumpable = 4
        libc.prctl(pr_set_dumpable, 0, 0, 0, 0)
    except (OSError, AttributeError):
        return
