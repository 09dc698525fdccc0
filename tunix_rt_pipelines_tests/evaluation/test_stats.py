"""Wilson score intervals and McNemar's exact test.

Contract: `wilson_interval(correct, n, confidence)` is the Wilson score interval without
continuity correction, clipped to [0, 1], with (0, 1) for n = 0; `mcnemar_exact(fixed, broken)`
is the two-sided exact McNemar p-value, 2 * P(Binomial(fixed + broken, 1/2) <= min), capped at 1,
symmetric in its arguments, and 1.0 when there are no discordant pairs.
"""

from __future__ import annotations

import math

import pytest

from tunix_rt_pipelines.lib.evaluation.stats import mcnemar_exact, wilson_interval

Z95 = 1.959963984540054  # two-sided 95% normal quantile, from tables
Z90 = 1.6448536269514722
Z99 = 2.5758293035489004


@pytest.mark.parametrize(
    ("correct", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),        # upper = z²/(n+z²)
        (5, 10, 0.2366, 0.7634),     # centred on 0.5
        (10, 10, 0.7225, 1.0),       # lower = n/(n+z²)
        (81, 263, 0.2553, 0.3662),   # Newcombe (1998), Stat. Med. 17:857, Table I, method 3
        (15, 148, 0.0624, 0.1605),   # ditto
        (0, 20, 0.0, 0.1611),        # ditto
        (1, 29, 0.0061, 0.1718),     # ditto
        (37, 100, 0.2818, 0.4678),   # one of the lock's aggregation probes
    ],
)
def test_wilson_matches_reference_values(correct: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(correct, n) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize("n", [1, 7, 10, 100, 1000])
def test_wilson_closed_forms_at_the_edges(n: int) -> None:
    z2 = Z95 * Z95
    assert wilson_interval(0, n) == pytest.approx((0.0, z2 / (n + z2)))       # all wrong
    assert wilson_interval(n, n) == pytest.approx((n / (n + z2), 1.0))       # all right


@pytest.mark.parametrize(
    ("confidence", "z"),
    [
        (0.90, Z90),   # narrower
        (0.95, Z95),   # the metric's level
        (0.99, Z99),   # wider
    ],
)
def test_wilson_half_correct_uses_the_requested_confidence(confidence: float, z: float) -> None:
    n = 10
    half = z / (2 * math.sqrt(n + z * z))  # Wilson at p = 1/2 reduces to this
    assert wilson_interval(5, n, confidence) == pytest.approx((0.5 - half, 0.5 + half))


def test_wilson_for_no_trials_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("correct", "n"), [(0, 1), (1, 3), (50, 100), (99, 100), (1, 1000)])
def test_wilson_contains_the_estimate_and_stays_in_range(correct: int, n: int) -> None:
    low, high = wilson_interval(correct, n)
    assert 0.0 <= low <= correct / n <= high <= 1.0
    assert low < high


@pytest.mark.parametrize(
    ("fixed", "broken", "p"),
    [
        (9, 1, 2 * (1 + 10) / 2**10),                            # C(10,0)+C(10,1) over 2^10, doubled = 0.021484375
        (1, 9, 2 * (1 + 10) / 2**10),                            # symmetric
        (0, 5, 2 / 2**5),                                        # 0.0625: 5 discordant pairs, all one way
        (0, 10, 2 / 2**10),                                      # 0.001953125
        (2, 8, 2 * (1 + 10 + 45) / 2**10),                       # 0.109375
        (25, 5, 2 * (1 + 30 + 435 + 4060 + 27405 + 142506) / 2**30),  # 3.249e-4
        (33, 0, 2 / 2**33),                                      # the README's example: 2.3e-10
        (3, 3, 1.0),                                             # 2 * 42/64 > 1: capped
        (1, 0, 1.0),                                             # one pair can never be significant
        (0, 0, 1.0),                                             # no discordant pairs
    ],
)
def test_mcnemar_exact_matches_hand_computed_binomials(fixed: int, broken: int, p: float) -> None:
    assert mcnemar_exact(fixed, broken) == pytest.approx(p, rel=1e-12)


@pytest.mark.parametrize(("fixed", "broken"), [(0, 3), (4, 11), (17, 2), (40, 60)])
def test_mcnemar_is_symmetric_and_a_probability(fixed: int, broken: int) -> None:
    p = mcnemar_exact(fixed, broken)
    assert p == mcnemar_exact(broken, fixed)
    assert 0.0 < p <= 1.0
