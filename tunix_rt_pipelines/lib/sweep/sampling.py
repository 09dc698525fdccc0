"""Which configurations a sweep's trials run: every one different, decided up front from the seed.

Ray Tune's random search samples each trial independently, so a 2-sample sweep over
`choice [0.001, 0.003]` could run 0.003 twice: a trial spent on a result already known. Here the
trials are planned before Tune starts and handed to it as `points_to_evaluate`:

- a *finite* space (every dimension choice, randint or quniform) is enumerated as its grid;
  with `num_samples` equal to the grid size every configuration runs once, in grid order, and
  with fewer a seeded sample of the grid runs (never one twice). Asking for more trials than the
  grid has configurations is refused (`num_samples_problem`), since some would be repeats;
- a space with a continuous dimension (uniform, loguniform) is sampled with a seeded generator
  and any configuration equal to an earlier one is drawn again.

The same space, seed and `num_samples` always give the same trials (a resumed sweep restores
Tune's own state, so it never re-plans). Pure module: no Ray.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from typing import Any

from tunix_rt_pipelines.lib.sweep.search_space import Choice, LogUniform, QUniform, RandInt, Uniform

MAX_ENUMERATED = 100_000  # a finite space larger than this is sampled with rejection instead of listed
GRID, SAMPLED_GRID, RANDOM = "grid", "seeded sample of the grid", "seeded random, repeats redrawn"


def _values(dim: Any) -> list[Any] | None:
    """The finite values of a dimension in order, or None for a continuous one."""
    if isinstance(dim, Choice):
        return _distinct(dim.values)
    if isinstance(dim, RandInt):
        return list(range(dim.min, dim.max + 1)) if dim.max - dim.min < MAX_ENUMERATED else None
    if isinstance(dim, QUniform):
        steps = round((dim.max - dim.min) / dim.q)
        return [round(dim.min + i * dim.q, 12) for i in range(steps + 1)] if steps < MAX_ENUMERATED else None
    return None


def _key(value: Any) -> str:
    return repr(value)


def _distinct(values: list[Any]) -> list[Any]:
    seen, out = set(), []
    for v in values:
        if _key(v) not in seen:
            seen.add(_key(v))
            out.append(v)
    return out


def space_size(space: Mapping[str, Any]) -> int | None:
    """How many distinct configurations the space has; None when a dimension is continuous."""
    sizes = []
    for dim in space.values():
        if isinstance(dim, Uniform | LogUniform):
            return None
        if isinstance(dim, RandInt):
            sizes.append(dim.max - dim.min + 1)
        elif isinstance(dim, QUniform):
            sizes.append(round((dim.max - dim.min) / dim.q) + 1)
        else:
            sizes.append(len(_distinct(dim.values)))
    return math.prod(sizes)


def num_samples_problem(space: Mapping[str, Any], num_samples: int) -> str | None:
    """Why `num_samples` trials cannot all differ in this space, or None."""
    size = space_size(space)
    if size is not None and num_samples > size:
        return (f"num_samples: {num_samples} trials asked for, but the search space has only {size} distinct "
                f"configuration{'s' if size != 1 else ''}, so {num_samples - size} would repeat one; set num_samples to at most {size}")
    return None


def _draw(dim: Any, rng: random.Random) -> Any:
    if isinstance(dim, Choice):
        return rng.choice(_distinct(dim.values))
    if isinstance(dim, Uniform):
        return rng.uniform(dim.min, dim.max)
    if isinstance(dim, LogUniform):
        return math.exp(rng.uniform(math.log(dim.min), math.log(dim.max)))
    if isinstance(dim, RandInt):
        return rng.randint(dim.min, dim.max)
    if isinstance(dim, QUniform):
        return round(dim.min + dim.q * rng.randint(0, round((dim.max - dim.min) / dim.q)), 12)
    raise TypeError(f"unknown dimension {dim!r}")  # pragma: no cover - the union is closed


def plan_trials(space: Mapping[str, Any], num_samples: int, seed: int) -> tuple[list[dict[str, Any]], str]:
    """The configurations of the sweep's trials, all different.

    Args:
        space: A parsed search space (`search_space.parse_search_space`).
        num_samples: Trials to run.
        seed: Seeds the sample; the same inputs give the same trials.

    Returns:
        `(configurations, how)` where `how` is `GRID`, `SAMPLED_GRID` or `RANDOM`.

    Raises:
        ValueError: More trials than the space has distinct configurations.
    """
    problem = num_samples_problem(space, num_samples)
    if problem:
        raise ValueError(problem)
    rng = random.Random(seed)
    keys = list(space)
    size = space_size(space)
    if size is not None and size <= MAX_ENUMERATED:
        grid = [dict(zip(keys, combo)) for combo in itertools.product(*(_values(space[k]) for k in keys))]
        if num_samples == len(grid):
            return grid, GRID
        return [grid[i] for i in sorted(rng.sample(range(len(grid)), num_samples))], SAMPLED_GRID
    seen, out = set(), []
    for _ in range(num_samples * 1000):
        point = {k: _draw(space[k], rng) for k in keys}
        key = tuple(_key(point[k]) for k in keys)
        if key not in seen:
            seen.add(key)
            out.append(point)
            if len(out) == num_samples:
                return out, RANDOM
    raise ValueError(f"num_samples: could not draw {num_samples} distinct configurations from the search space; ask for fewer")
