"""Model prices (USD per million tokens) for the live cost estimate.

Claude Code only reports its cost at the very end and Codex never does, so
budgets are enforced on an estimate from each turn's tokens; Claude's final
``total_cost_usd`` replaces the estimate when it arrives. Override or extend
the table with ``--price MODEL=INPUT,OUTPUT`` (prefix match, longest wins).
"""

from __future__ import annotations

from dataclasses import dataclass

from agentctl.model.run import Usage


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(self, usage: Usage) -> float:
        cache_read = self.cache_read if self.cache_read is not None else self.input * 0.1
        cache_write = self.cache_write if self.cache_write is not None else self.input * 1.25
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * cache_read
            + usage.cache_write_tokens * cache_write
        ) / 1_000_000


DEFAULT_PRICES: dict[str, Price] = {
    "claude-opus": Price(5.0, 25.0),
    "claude-sonnet": Price(3.0, 15.0),
    "claude-haiku": Price(1.0, 5.0),
    "claude": Price(3.0, 15.0),
    "gpt-5-mini": Price(0.25, 2.0),
    "gpt-5": Price(1.25, 10.0),
    "o3": Price(2.0, 8.0),
    "o4-mini": Price(1.1, 4.4),
    "gpt-4.1": Price(2.0, 8.0),
}
FALLBACK = Price(3.0, 15.0)


class PriceTable:
    def __init__(self, overrides: dict[str, Price] | None = None) -> None:
        self.prices = {**DEFAULT_PRICES, **(overrides or {})}

    def lookup(self, model: str | None) -> Price:
        name = (model or "").lower()
        matches = [prefix for prefix in self.prices if name.startswith(prefix.lower())]
        return self.prices[max(matches, key=len)] if matches else FALLBACK

    def cost(self, model: str | None, usage: Usage) -> float:
        return self.lookup(model).cost(usage)


def parse_price(spec: str) -> tuple[str, Price]:
    """``MODEL=INPUT,OUTPUT`` (USD per million tokens)."""
    model, _, numbers = spec.partition("=")
    parts = [p.strip() for p in numbers.split(",")]
    if not model or len(parts) != 2:
        raise ValueError(f"bad price '{spec}': expected MODEL=INPUT,OUTPUT (USD per million tokens)")
    return model.strip(), Price(float(parts[0]), float(parts[1]))
