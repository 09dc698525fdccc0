"""Small exact statistics used by the evaluation: Wilson intervals and McNemar's exact test."""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Args:
        correct: Number of successes.
        n: Number of trials (0 gives the uninformative interval (0, 1)).
        confidence: Two-sided confidence level.

    Returns:
        `(low, high)`, both within [0, 1].
    """
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0/n and n/n the bound is exactly 0 or 1; the formula leaves ~1e-17 of rounding.
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return (low, high)


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value for paired binary outcomes.

    Args:
        fixed: Discordant pairs wrong before and right after.
        broken: Discordant pairs right before and wrong after.

    Returns:
        The p-value: twice the binomial(fixed + broken, 1/2) tail of the smaller count, capped at 1.
        No discordant pairs gives 1.0.
    """
    n = fixed + broken
    if n == 0:
        return 1.0
    k = min(fixed, broken)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)
