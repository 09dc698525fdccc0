"""`lib/sweep/sampling.plan_trials`: a sweep never spends a trial on a configuration it already runs.

Contract: a finite space (choice, randint, quniform) is its grid: all of it in grid order when
num_samples equals its size, a seeded sample otherwise, more trials than configurations refused
(by `SweepConfig` too, before a run exists). A space with a continuous dimension is drawn with a
seed and repeats are redrawn. Same inputs, same plan.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.lib.sweep.sampling import GRID, RANDOM, SAMPLED_GRID, plan_trials, space_size
from tunix_rt_pipelines.lib.sweep.search_space import SearchSpaceError, parse_search_space
from tunix_rt_pipelines.lib.training.settings import TrainSettings


def _space(raw: dict):
    return parse_search_space(raw, TrainSettings.model_fields)


LR2 = {"learning_rate": {"type": "choice", "values": [0.001, 0.003]}}
GRID_2x3 = {"learning_rate": {"type": "choice", "values": [0.001, 0.003]}, "warmup_steps": {"type": "randint", "min": 0, "max": 2}}
MIXED = {"learning_rate": {"type": "loguniform", "min": 1e-3, "max": 1e-2}, "batch_size": {"type": "choice", "values": [16, 32]}}


@pytest.mark.parametrize("raw, num_samples, how, size", [
    (LR2, 2, GRID, 2),                 # the case: 0.003 ran twice
    (LR2, 1, SAMPLED_GRID, 2),
    (GRID_2x3, 6, GRID, 6),
    (GRID_2x3, 4, SAMPLED_GRID, 6),
    ({"max_steps": {"type": "quniform", "min": 10, "max": 30, "q": 10}}, 3, GRID, 3),
    (MIXED, 4, RANDOM, None),           # the default space: continuous learning rate
    (MIXED, 50, RANDOM, None),
    ({"max_steps": {"type": "randint", "min": 1, "max": 200_000}}, 5, RANDOM, 200_000),  # too big to list
])
def test_every_trial_is_a_different_configuration(raw, num_samples, how, size):
    space = _space(raw)
    points, got = plan_trials(space, num_samples, seed=0)
    assert got == how and space_size(space) == size
    assert len(points) == num_samples
    assert len({tuple(sorted(p.items())) for p in points}) == num_samples  # no repeats
    assert all(set(p) == set(raw) for p in points)
    assert plan_trials(space, num_samples, seed=0) == (points, how)  # deterministic


def test_a_whole_grid_runs_in_grid_order():
    points, _ = plan_trials(_space(GRID_2x3), 6, seed=7)
    assert points == [{"learning_rate": lr, "warmup_steps": w} for lr in (0.001, 0.003) for w in (0, 1, 2)]


def test_a_different_seed_samples_another_part_of_the_grid():
    space = _space({"warmup_steps": {"type": "randint", "min": 0, "max": 99}})
    plans = {tuple(p["warmup_steps"] for p in plan_trials(space, 3, seed=s)[0]) for s in range(5)}
    assert len(plans) > 1


@pytest.mark.parametrize("raw, num_samples, size", [(LR2, 3, 2), (GRID_2x3, 7, 6), ({"lr_scheduler": {"type": "choice", "values": ["cosine"]}}, 2, 1)])
def test_more_trials_than_configurations_is_refused_before_a_run(raw, num_samples, size):
    with pytest.raises(ValueError, match=f"only {size} distinct configuration"):
        plan_trials(_space(raw), num_samples, seed=0)
    with pytest.raises(ValidationError, match=f"num_samples: {num_samples} trials asked for, .* set num_samples to at most {size}"):
        SweepConfig(search_space=raw, num_samples=num_samples)


def test_a_choice_listing_a_value_twice_is_refused():
    with pytest.raises(SearchSpaceError, match=r"search_space.learning_rate: choice lists 0.003 more than once"):
        _space({"learning_rate": {"type": "choice", "values": [0.001, 0.003, 0.003]}})
