"""Search-space contract: every way a space can be wrong gives a message naming the key, the
problem and (for unknown keys) the allowed keys; a valid space becomes Ray Tune domains whose
samples stay inside the bounds and are valid training values."""

import pytest

from tunix_rt_pipelines.defs.training.config import TrainingConfig
from tunix_rt_pipelines.lib.sweep.search_space import (
    Choice,
    LogUniform,
    QUniform,
    RandInt,
    SearchSpaceError,
    Uniform,
    coerce_params,
    integer_keys,
    parse_search_space,
    to_tune_domains,
    tunable_fields,
)
from tunix_rt_pipelines_tests.testing_utils import require_ray

FIELDS = TrainingConfig.model_fields
ALLOWED = ("batch_size, gradient_accumulation_steps, learning_rate, lr_scheduler, max_grad_norm, max_seq_length, max_steps, "
           "num_train_epochs, seed, warmup_steps, weight_decay")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # unknown key: named, with the full list of allowed keys
        ({"lr": {"type": "uniform", "min": 0.1, "max": 0.2}}, f"search_space.lr: unknown hyperparameter; allowed: {ALLOWED}"),
        # a real TrainingConfig field that is hardware/bookkeeping, not a hyperparameter
        ({"device": {"type": "choice", "values": ["cpu"]}}, "search_space.device: not a hyperparameter (set it in the sweep's training config instead)"),
        ({"num_threads": {"type": "randint", "min": 1, "max": 4}}, "search_space.num_threads: not a hyperparameter"),
        # empty space
        ({}, f"search_space: empty; name at least one hyperparameter: {ALLOWED}"),
        # not a mapping / unknown type
        ({"learning_rate": 0.01}, "search_space.learning_rate: needs a mapping with type one of choice, uniform, loguniform, randint, quniform (got 'float')"),
        ({"learning_rate": {"type": "normal", "mu": 0.1}}, "search_space.learning_rate: needs a mapping with type one of choice, uniform, loguniform, randint, quniform (got 'normal')"),
        # shape errors from the discriminated union
        ({"learning_rate": {"type": "uniform", "min": 0.1}}, "search_space.learning_rate.max: Field required"),
        ({"learning_rate": {"type": "uniform", "min": "low", "max": 0.2}}, "search_space.learning_rate.min: Input should be a valid number"),
        ({"learning_rate": {"type": "uniform", "min": 0.1, "max": 0.2, "step": 1}}, "search_space.learning_rate.step: Extra inputs are not permitted"),
        ({"batch_size": {"type": "choice", "values": []}}, "search_space.batch_size.values: List should have at least 1 item"),
        ({"warmup_steps": {"type": "randint", "min": 0.5, "max": 3}}, "search_space.warmup_steps.min: Input should be a valid integer"),
        # bounds of each type
        ({"weight_decay": {"type": "uniform", "min": 0.2, "max": 0.1}}, "search_space.weight_decay: uniform needs min < max, got min=0.2, max=0.1"),
        ({"learning_rate": {"type": "loguniform", "min": 0.0, "max": 0.1}}, "search_space.learning_rate: loguniform needs 0 < min < max, got min=0.0, max=0.1"),
        ({"learning_rate": {"type": "loguniform", "min": 0.1, "max": 0.01}}, "search_space.learning_rate: loguniform needs 0 < min < max, got min=0.1, max=0.01"),
        ({"warmup_steps": {"type": "randint", "min": 5, "max": 5}}, "search_space.warmup_steps: randint needs min < max, got min=5, max=5"),
        ({"max_steps": {"type": "quniform", "min": 10, "max": 40, "q": 0}}, "search_space.max_steps: quniform needs q > 0, got q=0.0"),
        ({"max_steps": {"type": "quniform", "min": 10, "max": 20, "q": 30}}, "search_space.max_steps: quniform q=30.0 is wider than the range 10.0..20.0"),
        ({"max_steps": {"type": "quniform", "min": 5, "max": 40, "q": 10}}, "search_space.max_steps: quniform min must be a multiple of q=10.0 (got min=5.0, max=40.0)"),
        ({"max_steps": {"type": "quniform", "min": 5, "max": 45, "q": 10}}, "search_space.max_steps: quniform min and max must be multiples of q=10.0"),
        # dimension type vs the field's Python type
        ({"batch_size": {"type": "uniform", "min": 8, "max": 32}}, "search_space.batch_size: is an integer setting; use randint, choice or quniform with a whole-number q (got uniform)"),
        ({"batch_size": {"type": "quniform", "min": 0.5, "max": 2.5, "q": 0.5}}, "search_space.batch_size: is an integer setting; quniform needs whole-number min, max and q"),
        ({"lr_scheduler": {"type": "uniform", "min": 0, "max": 1}}, "search_space.lr_scheduler: is a text setting; only choice can search it (got uniform)"),
        # values the training field itself refuses
        ({"learning_rate": {"type": "uniform", "min": 0.0, "max": 0.1}}, "search_space.learning_rate: min 0.0 is not a valid learning_rate: Input should be greater than 0"),
        ({"warmup_steps": {"type": "randint", "min": -1, "max": 3}}, "search_space.warmup_steps: min -1 is not a valid warmup_steps: Input should be greater than or equal to 0"),
        ({"batch_size": {"type": "choice", "values": [8, 2.5]}}, "search_space.batch_size: value 2.5 is not a valid batch_size: Input should be a valid integer"),
        ({"batch_size": {"type": "choice", "values": [True]}}, "search_space.batch_size: value True is not a valid batch_size"),
        ({"lr_scheduler": {"type": "choice", "values": ["cosine", 3]}}, "search_space.lr_scheduler: value 3 is not a valid lr_scheduler: Input should be 'cosine', 'linear', 'constant', 'constant_with_warmup', 'cosine_with_restarts', 'polynomial' or 'inverse_sqrt'"),
    ],
)
def test_every_problem_is_named(raw, expected):
    with pytest.raises(SearchSpaceError) as info:
        parse_search_space(raw, FIELDS)
    assert expected in str(info.value)


def test_all_problems_are_reported_at_once():
    raw = {"lr": {"type": "uniform", "min": 0, "max": 1}, "batch_size": {"type": "uniform", "min": 8, "max": 32},
           "learning_rate": {"type": "loguniform", "min": 1e-3, "max": 1e-2}}
    with pytest.raises(SearchSpaceError) as info:
        parse_search_space(raw, FIELDS)
    assert [p.split(":")[0] for p in info.value.problems] == ["search_space.lr", "search_space.batch_size"]


def test_valid_space_parses_to_typed_dimensions():
    space = parse_search_space({
        "learning_rate": {"type": "loguniform", "min": 1e-4, "max": 1e-2},
        "weight_decay": {"type": "uniform", "min": 0.0, "max": 0.1},
        "batch_size": {"type": "choice", "values": [8, 16]},
        "warmup_steps": {"type": "randint", "min": 0, "max": 3},
        "max_steps": {"type": "quniform", "min": 10, "max": 40, "q": 10},
        "lr_scheduler": {"type": "choice", "values": ["cosine", "linear"]},
    }, FIELDS)
    assert [type(d) for d in space.values()] == [LogUniform, Uniform, Choice, RandInt, QUniform, Choice]
    assert list(space) == ["learning_rate", "weight_decay", "batch_size", "warmup_steps", "max_steps", "lr_scheduler"]


def test_tunable_fields_exclude_hardware_and_bookkeeping():
    assert set(tunable_fields(FIELDS)) == set(ALLOWED.split(", "))


def test_integer_values_are_cast_back():
    keys = integer_keys(FIELDS)
    assert {"batch_size", "max_steps", "warmup_steps"} <= keys and "learning_rate" not in keys
    assert coerce_params({"max_steps": 30.0, "learning_rate": 0.01, "lr_scheduler": "linear"}, keys) == {
        "max_steps": 30, "learning_rate": 0.01, "lr_scheduler": "linear"}


@require_ray
def test_ray_domains_sample_inside_the_bounds():
    space = parse_search_space({
        "learning_rate": {"type": "loguniform", "min": 1e-4, "max": 1e-2},
        "warmup_steps": {"type": "randint", "min": 0, "max": 2},
        "max_steps": {"type": "quniform", "min": 10, "max": 40, "q": 10},
        "batch_size": {"type": "choice", "values": [8, 16]},
    }, FIELDS)
    domains = to_tune_domains(space)
    lrs = domains["learning_rate"].sample(size=300, random_state=0)
    assert all(1e-4 <= v <= 1e-2 for v in lrs)
    assert sum(v < 1e-3 for v in lrs) > 100  # log-spaced: half fall in the lower decade (uniform: 9%)
    # randint's max is inclusive here (Ray's upper bound is exclusive)
    assert set(domains["warmup_steps"].sample(size=300, random_state=0)) == {0, 1, 2}
    assert set(domains["max_steps"].sample(size=300, random_state=0)) <= {10.0, 20.0, 30.0, 40.0}
    assert set(domains["batch_size"].sample(size=50, random_state=0)) == {8, 16}
    # every sample is a valid TrainingConfig once cast
    for sample in zip(lrs[:20], domains["max_steps"].sample(size=20, random_state=1), strict=True):
        TrainingConfig(**coerce_params({"learning_rate": sample[0], "max_steps": sample[1]}, integer_keys(FIELDS)))
