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
from agentctl.gateway.wiring import Unsupported, apply, checked_url, plan_for
from agentctl.runner.limits import Limits
from agentctl.runner.pricing import PriceTable


@dataclass
class Attached:
    command: list[str]
    env: dict[str, str]
    gateway: Gateway | None = None
    accounting: str = "gateway"
    """``gateway`` (exact, from the provider's stream) or ``agent-stream`` (the agent's events)."""
    note: str | None = None
    _removed: dict[str, str] = field(default_factory=dict)

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
    origin = gateway.start()
    command, env = apply(plan, command, env, plan.local_url(origin))
    attached = Attached(command, env, gateway)
    secrets = set(plan.keys.values())
    for name, value in list(os.environ.items()):
        if value in secrets:
            attached._removed[name] = os.environ.pop(name)
    if secrets:
        _not_dumpable()
    return attached


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
