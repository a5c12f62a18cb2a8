"""Budgets enforced at the gateway, before and while the money is spent.

Every request reserves what it can cost at most: its input (estimated from the
body's size until the provider states it) plus ``max_tokens`` of output. A
request is admitted only if its reservation fits in what is left after the
finished requests and the reservations of those still in flight, with
``max_tokens`` lowered to what the rest can buy. While it streams, its live
cost (exact input, output counted from deltas) is watched and the stream is
ended if it still crosses the limit. The run therefore ends at most one
stream chunk over ``--max-usd``.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentctl.model.run import Usage
from agentctl.runner.limits import Limits
from agentctl.runner.pricing import PriceTable

BYTES_PER_INPUT_TOKEN = 3
"""Request body bytes per input token for the estimate made before the provider says, at first.

Each answered request teaches the real ratio (input tokens per body byte); the
estimate uses the highest of the last few, so a conversation whose bytes are
dense in tokens is not under-reserved."""
RATIOS_KEPT = 8
DENSE_TOKENS_PER_BYTE = 0.5
"""What bytes no answered request has measured yet are reserved at: text dense in tokens (digits, CJK, a
tool result full of them) runs near one token per two bytes, and an estimate at the typical density let a
550 KB body of digits spend 40% past --max-usd 1 on its input alone. A conversation's new request is
its last one plus a little: only what it adds (the last answered request no larger than it, whose input
the provider stated) is reserved at this density, so ordinary turns are barely affected."""
MIN_OUTPUT_TOKENS = 16
"""A request whose budget cannot buy this many output tokens is refused (OpenAI's minimum is 16)."""


@dataclass
class Flight:
    """One request in flight: its reservation and what it has cost so far."""

    model: str | None
    input_estimate: int
    max_output: int | None
    usage: Usage
    live_output: int = 0
    input_known: bool = False
    body_size: int = 0

    def tokens(self) -> int:
        inputs = self.usage.input_tokens + self.usage.cache_read_tokens + self.usage.cache_write_tokens
        return (inputs if self.input_known else self.input_estimate) + self.live_output


@dataclass(frozen=True)
class Admission:
    refused: str | None = None
    """Why the request may not start (a budget name and message), or None."""
    limit: str | None = None
    cap: int | None = None
    """The ``max_tokens`` to send instead of the agent's, when lower."""


class Budget:
    """The run's spend as the gateway sees it. Used from the gateway's one thread only."""

    def __init__(self, limits: Limits, prices: PriceTable) -> None:
        self.limits = limits
        self.prices = prices
        self.usage = Usage()
        self.cost_usd = 0.0
        self.flights: dict[int, Flight] = {}
        self.exhausted: str | None = None
        self.ratios: list[float] = []
        self.measured: list[tuple[int, int]] = []
        """(body size, input tokens the provider stated) of the last few answered requests."""
        """Input tokens per request body byte, of the last few answered requests."""

    def estimate(self, body_size: int) -> int:
        typical = int(body_size * max([1 / BYTES_PER_INPUT_TOKEN, *self.ratios]))
        known = max((m for m in self.measured if m[0] <= body_size), default=(0, 0))
        return max(typical, known[1] + int((body_size - known[0]) * DENSE_TOKENS_PER_BYTE))

    # -- what is committed ------------------------------------------------
    def _cost(self, flight: Flight, reserve: bool) -> float:
        price = self.prices.lookup(flight.model)
        if flight.input_known:
            inputs = price.cost(
                Usage(flight.usage.input_tokens, 0, flight.usage.cache_read_tokens, flight.usage.cache_write_tokens)
            )
        else:
            inputs = flight.input_estimate * price.input / 1_000_000
        output = flight.max_output if reserve and flight.max_output is not None else flight.live_output
        return inputs + max(output, flight.live_output) * price.output / 1_000_000

    def _others(self, ident: int) -> tuple[float, int]:
        usd = 0.0
        tokens = 0
        for other, flight in self.flights.items():
            if other != ident:
                usd += self._cost(flight, reserve=True)
                out = max(flight.max_output or 0, flight.live_output)
                tokens += (flight.tokens() - flight.live_output) + out
        return usd, tokens

    # -- the request's life -------------------------------------------------
    def admit(self, ident: int, model: str | None, body_size: int, requested_max: int | None) -> Admission:
        limits = self.limits
        estimate = self.estimate(body_size)
        flight = Flight(model, estimate, requested_max, Usage(), body_size=body_size)
        if self.exhausted:
            return Admission(refused=self.exhausted, limit=self.exhausted.split(":", 1)[0])
        others_usd, others_tokens = self._others(ident)
        caps: list[tuple[int, str]] = []
        if limits.max_usd is not None:
            price = self.prices.lookup(model)
            left = limits.max_usd - self.cost_usd - others_usd - estimate * price.input / 1_000_000
            affordable = int(left * 1_000_000 / price.output) if price.output > 0 else None
            if affordable is not None and affordable < MIN_OUTPUT_TOKENS:
                return Admission(
                    refused=f"max_usd: ${self.cost_usd:.4f} spent and ${others_usd:.4f} reserved of "
                    f"--max-usd {limits.max_usd:g}; this request could cost more than what is left",
                    limit="max_usd",
                )
            if affordable is not None:
                caps.append((affordable, "max_usd"))
        if limits.max_tokens is not None:
            left_tokens = limits.max_tokens - self.usage.total - others_tokens - estimate
            if left_tokens < MIN_OUTPUT_TOKENS:
                return Admission(
                    refused=f"max_tokens: {self.usage.total:,} tokens used of --max-tokens {limits.max_tokens:,}; "
                    "this request could use more than what is left",
                    limit="max_tokens",
                )
            caps.append((left_tokens, "max_tokens"))
        cap, limit = min(caps) if caps else (None, None)
        if cap is not None and requested_max is not None and cap >= requested_max:
            cap, limit = None, None
        flight.max_output = cap if cap is not None else requested_max
        self.flights[ident] = flight
        return Admission(cap=cap, limit=limit)

    def progress(
        self, ident: int, usage: Usage, input_known: bool, live_output: int, answered: str | None = None
    ) -> str | None:
        """Update a streaming request; the limit it crosses, if it does. ``answered``: the model that answers,
        once the stream names it (priced from then on: an alias may stand for a dearer model)."""
        flight = self.flights.get(ident)
        if flight is None:
            return None
        if answered and answered != flight.model:
            flight.model = answered
        flight.usage = usage
        flight.input_known = input_known
        flight.live_output = live_output
        limits = self.limits
        if limits.max_usd is not None:
            spent = self.cost_usd + sum(self._cost(f, reserve=False) for f in self.flights.values())
            if spent > limits.max_usd:
                return f"max_usd: the response crossed --max-usd {limits.max_usd:g} (${spent:.4f}); it was ended"
        if limits.max_tokens is not None:
            used = self.usage.total + sum(f.tokens() for f in self.flights.values())
            if used > limits.max_tokens:
                return f"max_tokens: the response crossed --max-tokens {limits.max_tokens:,}; it was ended"
        return None

    def fill(self, ident: int, usage: Usage, *, input_known: bool, reserve: bool) -> Usage:
        """``usage`` with what the provider did not say filled in from the request's reservation: the input
        estimate when its input is unknown, and (``reserve``) all the output it was allowed."""
        flight = self.flights.get(ident)
        if flight is None:
            return usage
        inputs = usage.input_tokens
        if not input_known and not (usage.input_tokens or usage.cache_read_tokens or usage.cache_write_tokens):
            inputs = flight.input_estimate
        output = max(usage.output_tokens, flight.max_output or 0) if reserve else usage.output_tokens
        return Usage(inputs, output, usage.cache_read_tokens, usage.cache_write_tokens)

    def finish(self, ident: int, usage: Usage, cost: float, *, input_stated: bool = True) -> None:
        flight = self.flights.pop(ident, None)
        inputs = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        if flight is not None and flight.body_size >= 1024 and inputs:
            self.ratios = [*self.ratios[-(RATIOS_KEPT - 1) :], inputs / flight.body_size]
        if flight is not None and inputs and input_stated:
            self.measured = [*self.measured[-(RATIOS_KEPT - 1) :], (flight.body_size, inputs)]
        self.usage.add(usage)
        self.cost_usd += cost

    def cost_of(self, model: str | None, usage: Usage) -> float:
        return self.prices.cost(model, usage)
