"""SweepConfig contract: a metric other than the locked one (or the wrong mode) is refused by
Dagster's run-config validation at launch and by pydantic when built in Python; search-space
problems surface through the config; the sweep id ignores settings that only change how it runs."""

import dagster as dg
import pytest
from pydantic import ValidationError

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.sweep.config import OPERATIONAL_FIELDS, SweepConfig
from tunix_rt_pipelines.lib.evaluation.spec import METRIC_NAME


@pytest.fixture(scope="module")
def sweep_job_def():
    return defs.resolve_job_def("sweep_job")


def _run_config(**fields):
    return {"ops": {"tuning_sweep": {"config": fields}}}


def test_defaults_are_valid_at_launch(sweep_job_def):
    resolved = dg.validate_run_config(sweep_job_def, {})["ops"]["tuning_sweep"]["config"]
    assert (resolved["metric"], resolved["mode"], resolved["num_samples"]) == ("answer_correctness", "max", 4)
    assert SweepConfig().metric == METRIC_NAME == "answer_correctness"


@pytest.mark.parametrize("metric", ["accuracy", "final_loss", "Answer_Correctness"])
def test_other_metric_refused_when_the_run_config_is_validated(sweep_job_def, metric):
    with pytest.raises(dg.DagsterInvalidConfigError) as info:
        dg.validate_run_config(sweep_job_def, _run_config(metric=metric))
    assert "root:ops:tuning_sweep:config:metric" in str(info.value)
    assert metric in str(info.value)


def test_other_metric_refused_when_built_in_python():
    with pytest.raises(ValidationError) as info:
        SweepConfig(metric="accuracy")
    assert "metric 'accuracy' is refused: sweeps rank trials by the locked primary metric answer_correctness@v1" in str(info.value)


def test_mode_is_fixed_by_the_spec(sweep_job_def):
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(sweep_job_def, _run_config(mode="min"))
    with pytest.raises(ValidationError, match="answer_correctness is higher-is-better, so mode is 'max'"):
        SweepConfig(mode="min")


def test_search_space_problems_surface_through_the_config():
    with pytest.raises(ValidationError) as info:
        SweepConfig(search_space={"lr": {"type": "uniform", "min": 0.1, "max": 0.2}})
    assert "search_space.lr: unknown hyperparameter; allowed: batch_size," in str(info.value)


def test_space_is_stored_normalised():
    config = SweepConfig(search_space={"max_steps": {"type": "quniform", "min": 10, "max": 40, "q": 10}})
    assert config.search_space == {"max_steps": {"type": "quniform", "min": 10.0, "max": 40.0, "q": 10.0}}
    assert list(config.dimensions()) == ["max_steps"]


@pytest.mark.parametrize("sweep_id", ["../escape", "a b", "x" * 65, "-leading-dash"])
def test_sweep_id_must_be_a_plain_folder_name(sweep_id):
    with pytest.raises(ValidationError, match="sweep_id"):
        SweepConfig(sweep_id=sweep_id)


def test_identity_ignores_operational_settings_only():
    base = SweepConfig()
    operational = SweepConfig(max_concurrent_trials=3, max_failures=2, ray_address="127.0.0.1:6379", sweep_id="mine",
                              retry_failed_trials=True, force=True, reuse_workers=False)
    assert operational.identity() == base.identity()
    assert not OPERATIONAL_FIELDS & set(base.identity())
    for changed in (SweepConfig(seed=1), SweepConfig(num_samples=5), SweepConfig(training={"max_steps": 3}),
                    SweepConfig(inference={"max_items": 5}), SweepConfig(cpus_per_trial=2)):
        assert changed.identity() != base.identity()


def test_run_config_accepts_the_typed_config(sweep_job_def):
    config = SweepConfig(num_samples=2, training={"max_steps": 3}, search_space={"seed": {"type": "choice", "values": [0, 1]}})
    resolved = dg.validate_run_config(sweep_job_def, dg.RunConfig(ops={"tuning_sweep": config}))["ops"]["tuning_sweep"]["config"]
    assert (resolved["num_samples"], resolved["training"]["max_steps"]) == (2, 3)
    assert resolved["search_space"] == {"seed": {"type": "choice", "values": [0, 1]}}


def test_multi_worker_trials_are_accepted_and_their_resources_change_the_id():
    config = SweepConfig(training={"num_workers": 2, "cpus_per_worker": 1})
    assert config.training.num_workers == 2
    assert config.identity()["training"]["num_workers"] == 2  # data-parallel training changes the weights' last bits
    assert config.identity() != SweepConfig().identity()
    assert "num_workers" not in config.dimensions()  # resources, never searched


@pytest.mark.parametrize(
    ("space", "message"),
    [
        # a choice that holds a batch 2 workers cannot split
        ({"batch_size": {"type": "choice", "values": [16, 15]}},
         r"search_space.batch_size: \[15\] cannot be split across training.num_workers=2: use multiples of 2"),
        # a range can sample an odd batch: only a choice can promise multiples
        ({"batch_size": {"type": "randint", "min": 8, "max": 32}},
         r"search_space.batch_size: with training.num_workers=2 give a choice of multiples of 2 \(a randint range"),
    ],
)
def test_a_searched_batch_the_workers_cannot_split_is_refused(space, message):
    with pytest.raises(ValidationError, match=message):
        SweepConfig(training={"num_workers": 2}, search_space=space, num_samples=2)
    SweepConfig(training={"num_workers": 1}, search_space=space, num_samples=2)  # one worker splits nothing: the same space is fine


def test_a_one_worker_sweep_keeps_its_id_when_ray_train_settings_exist():
    plain = SweepConfig()
    assert "num_workers" not in plain.identity()["training"]
    assert SweepConfig(training={"cpus_per_worker": 4}).identity() == plain.identity()  # unused with one worker
