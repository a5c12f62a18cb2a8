"""Budgets and circuit breakers: pure bookkeeping over the normalised events.

``Tracker.observe`` folds each event into the run's totals and says whether a
limit was crossed; ``Tracker.tick`` checks the clocks. Exit 5 is a budget
(money, tokens, turns, tool calls, time), exit 6 a breaker (the same call over
and over, an error storm).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from agentctl.model.run import AgentEvent, EventKind, Usage
from agentctl.runner.pricing import PriceTable

MAX_DISTINCT_CALLS = 4096


@dataclass(frozen=True)
class Limits:
    max_usd: float | None = None
    max_tokens: int | None = None
    max_turns: int | None = None
    max_tool_calls: int | None = None
    timeout: float | None = None
    idle_timeout: float | None = None
    max_repeats: int = 5
    max_errors: int = 5

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class Trip:
    kind: str  # "budget" | "breaker"
    name: str  # the flag that tripped, e.g. "max_usd"
    message: str


@dataclass
class Tracker:
    limits: Limits
    prices: PriceTable
    started: float = field(default_factory=time.monotonic)
    last_activity: float = field(default_factory=time.monotonic)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    cost_source: str = "estimate"
    turns: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    consecutive_errors: int = 0
    model: str | None = None
    session_id: str | None = None
    calls: OrderedDict[bytes, int] = field(default_factory=OrderedDict)
    """Occurrences per distinct call, most recent last; capped so memory stays flat."""
    last_tool: str | None = None
    metered: bool = False
    """The model gateway reports exact usage: the agent's own token figures are not added."""
    turns_from_requests: bool = False
    """Count a turn per model response the gateway saw (Codex), not per agent event."""

    def counters(self) -> dict[str, Any]:
        return {
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cache_read_tokens": self.usage.cache_read_tokens,
            "cache_write_tokens": self.usage.cache_write_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "cost_source": self.cost_source,
            "turns": self.turns,
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            "model": self.model,
            "session_id": self.session_id,
        }

    def observe(self, event: AgentEvent) -> Trip | None:
        self.last_activity = time.monotonic()
        if event.model and event.kind is not EventKind.MODEL_REQUEST and not event.model.startswith("<"):
            self.model = event.model  # not Claude's "<synthetic>" stand-in after an API error
        if event.session_id:
            self.session_id = event.session_id
        if event.kind is EventKind.TURN:
            # Claude's "<synthetic>" message after an API error (a refused request) is no model response
            if not self.turns_from_requests and not (event.model or "").startswith("<"):
                self.turns += 1
            if event.usage and not self.metered:
                self.usage.add(event.usage)
                self.cost_usd += self.prices.cost(self.model, event.usage)
        elif event.kind is EventKind.MODEL_REQUEST:
            trip = self._request(event)
            if trip is not None:
                return trip
        elif event.kind is EventKind.RESULT:
            if not self.metered:
                self._result(event)
        elif event.kind is EventKind.TOOL_START:
            self.tool_calls += 1
            self.last_tool = event.tool_name
            key = _call_key(event.tool_name, event.tool_input)
            count = self.calls.pop(key, 0) + 1
            self.calls[key] = count
            if len(self.calls) > MAX_DISTINCT_CALLS:
                self.calls.popitem(last=False)  # a call not seen for thousands of calls is not a loop
            if count >= self.limits.max_repeats:
                return Trip(
                    "breaker",
                    "max_repeats",
                    f"the same {event.tool_name} call was made {count} times (--max-repeats {self.limits.max_repeats})",
                )
        elif event.kind is EventKind.TOOL_END:
            if event.ok:
                self.consecutive_errors = 0
            else:
                self.tool_errors += 1
                self.consecutive_errors += 1
        elif event.kind is EventKind.RAW and event.usage is not None and not self.metered:
            # a live usage increment (Claude's partial messages, without the gateway)
            self.usage.add(event.usage)
            self.cost_usd += self.prices.cost(self.model, event.usage)
        elif event.kind is EventKind.API_RETRY:
            self.consecutive_errors += 1
        if self.consecutive_errors >= self.limits.max_errors:
            return Trip(
                "breaker",
                "max_errors",
                f"{self.consecutive_errors} consecutive failed tool calls or API retries "
                f"(--max-errors {self.limits.max_errors})",
            )
        return self._budgets()

    def _request(self, event: AgentEvent) -> Trip | None:
        """A model request through the gateway: its exact usage and cost, or the budget it hit."""
        data = event.data
        if event.usage:
            self.usage.add(event.usage)
        self.cost_usd += float(data.get("cost_usd") or 0.0)
        self.cost_source = "gateway"
        if self.turns_from_requests and data.get("status") == 200 and data.get("metered"):
            self.turns += 1
        limit = data.get("refused") or data.get("cut")
        if limit:
            return Trip("budget", str(limit), str(data.get("message") or f"--{str(limit).replace('_', '-')} reached"))
        return None

    def _result(self, event: AgentEvent) -> None:
        if event.cost_usd is not None:
            # Claude Code's final figures are the session totals: they replace the estimate.
            if event.usage:
                self.usage = event.usage
            self.cost_usd = float(event.cost_usd)
            self.cost_source = "agent"
        elif event.usage:
            # Codex: one turn's usage, never a cost.
            self.usage.add(event.usage)
            self.cost_usd += self.prices.cost(self.model, event.usage)

    def _budgets(self) -> Trip | None:
        limits = self.limits
        if limits.max_usd is not None and self.cost_usd > limits.max_usd:
            return Trip("budget", "max_usd", f"cost ${self.cost_usd:.4f} passed --max-usd {limits.max_usd:g}")
        if limits.max_tokens is not None and self.usage.total > limits.max_tokens:
            return Trip(
                "budget", "max_tokens", f"{self.usage.total:,} tokens passed --max-tokens {limits.max_tokens:,}"
            )
        if limits.max_turns is not None and self.turns > limits.max_turns:
            return Trip("budget", "max_turns", f"{self.turns} model turns passed --max-turns {limits.max_turns}")
        if limits.max_tool_calls is not None and self.tool_calls > limits.max_tool_calls:
            return Trip(
                "budget",
                "max_tool_calls",
                f"{self.tool_calls} tool calls passed --max-tool-calls {limits.max_tool_calls}",
            )
        return None

    def tick(self, now: float | None = None) -> Trip | None:
        now = time.monotonic() if now is None else now
        if self.limits.timeout is not None and now - self.started > self.limits.timeout:
            return Trip("budget", "timeout", f"the run took longer than --timeout {_duration(self.limits.timeout)}")
        if self.limits.idle_timeout is not None and now - self.last_activity > self.limits.idle_timeout:
            return Trip(
                "budget",
                "idle_timeout",
                f"no event from the agent for {_duration(self.limits.idle_timeout)} (--idle-timeout)",
            )
        return None


def _call_key(name: str | None, tool_input: Any) -> bytes:
    payload = f"{name}\0{json.dumps(tool_input, sort_keys=True, default=str)}"
    return hashlib.blake2b(payload.encode(), digest_size=16).digest()


def _duration(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 120 else f"{seconds / 60:g}m"


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``20m``, ``1h``, ``1h30m`` → seconds."""
    import re

    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"bad duration '{text}': use e.g. 90s, 20m, 1h30m")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
