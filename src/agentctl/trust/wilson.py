"""The Wilson score interval's lower bound: a success rate with a confidence bound.

A raw success rate says 10/10 = 100 %; Wilson says that at 95 % confidence the
true rate is only known to be above 0.72. Promotion to autonomy uses the bound,
so a short streak of luck does not count as evidence.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

LIMIT = 100_000


@functools.lru_cache(maxsize=16)
def z_value(confidence: float) -> float:
    """Two-sided normal quantile: 0.95 → 1.96."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


@functools.lru_cache(maxsize=4096)
def lower_bound(successes: int, n: int, confidence: float = 0.95) -> float:
    if n <= 0:
        return 0.0
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - margin) / denominator


@functools.lru_cache(maxsize=4096)
def clean_runs_needed(successes: int, n: int, threshold: float, min_runs: int, confidence: float = 0.95) -> int | None:
    """Further consecutive clean runs until the bound reaches ``threshold`` (``None``: never within 100,000).

    Each clean run raises the bound, so the smallest such number is found by bisection.
    """

    def reached(extra: int) -> bool:
        return n + extra >= min_runs and lower_bound(successes + extra, n + extra, confidence) >= threshold

    high = 1
    while high < LIMIT and not reached(high):
        high *= 2
    high = min(high, LIMIT)
    if not reached(high):
        return None
    low = high // 2 if high > 1 else 0  # reached(high) holds, reached(below low) does not
    while low < high:
        middle = (low + high) // 2
        if reached(middle):
            high = middle
        else:
            low = middle + 1
    return low
