""""Best" as the metric spec defines it: `SPEC["best"]["order"]`, one list of tie-breakers.

Used to pick the promotion candidate (base vs trained, or a sweep's trials) and, translated to
SQL, to sort the leaderboard, so both always agree with the locked spec.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from tunix_rt_pipelines.lib.evaluation.spec import SPEC

T = TypeVar("T")
BEST_ORDER: list[list[str]] = SPEC["best"]["order"]  # [[field, "asc"|"desc"], ...]; fields: score, ci95_low, n, created_at


def rank(options: Sequence[T], facts: Callable[[T], Mapping[str, Any]], order: Sequence[Sequence[str]] = BEST_ORDER) -> list[T]:
    """`options` sorted best first.

    Args:
        options: Anything; `facts(option)` gives its values for the fields named in `order`
            (`created_at` as a number, e.g. epoch seconds). A missing or None value ranks last.
        order: `[field, "asc"|"desc"]` pairs, most important first.

    Returns:
        A new list; options equal on every field keep their given order.
    """
    ranked = list(options)
    for key, direction in reversed(order):  # stable sorts, least important key first
        worst = -math.inf if direction == "desc" else math.inf
        ranked.sort(key=lambda o, k=key, w=worst: v if (v := facts(o).get(k)) is not None else w, reverse=direction == "desc")
    return ranked


def pick_best(options: Sequence[T], facts: Callable[[T], Mapping[str, Any]], order: Sequence[Sequence[str]] = BEST_ORDER) -> T:
    """The best of `options` (see `rank`); ValueError when there are none."""
    if not options:
        raise ValueError("no candidates to choose from")
    return rank(options, facts, order)[0]
