"""Every launch (launchpad, sensor, schedule, `execute_job`) refuses a bad setting before the run is created.

Contract: each job of the code location carries a config mapping whose schema is the job's own
run-config schema (the launchpad scaffolds and type-checks exactly as before) and which raises
Dagster config errors, at the setting's path, for everything the typed configs' pydantic checks
refuse. Dagster calls it while building the run, so a refused config stores no run.
"""

from __future__ import annotations

import dagster as dg
import pytest

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.run_config import config_classes

JOBS = ["base_vs_trained_job", "data_quality_job", "sweep_job", "evaluation_refresh_job"]


@pytest.mark.parametrize("name", JOBS)
def test_every_job_is_checked_at_launch_with_its_own_schema(name):
    job = defs.resolve_job_def(name)
    mapping = job.config_mapping
    assert mapping is not None
    assert mapping.config_schema.config_type.key == job.run_config_schema.run_config_schema_type.key  # same scaffolding
    assert dg.validate_run_config(job, {})  # the defaults launch


@pytest.mark.parametrize("job_name, op, config, path", [
    ("base_vs_trained_job", "trained_checkpoint", {"max_steps": -1}, "max_steps"),
    ("base_vs_trained_job", "trained_checkpoint", {"learning_rate": float("inf")}, "learning_rate"),
    ("base_vs_trained_job", "trained_checkpoint", {"lora": {"r": 0}}, "lora.r"),
    ("base_vs_trained_job", "base_predictions", {"max_new_tokens": 10**9}, "max_new_tokens"),
    ("base_vs_trained_job", "trained_checkpoint", {"device": "cuda:99"}, "device"),
    ("evaluation_refresh_job", "trained_predictions", {"batch_size": 0}, "batch_size"),
    ("sweep_job", "tuning_sweep", {"num_samples": 3, "search_space": {"learning_rate": {"type": "choice", "values": [0.001, 0.003]}}}, ""),
    ("sweep_job", "tuning_sweep", {"cpus_per_trial": float("nan")}, "cpus_per_trial"),
    ("sweep_job", "tuning_sweep", {"training": {"max_steps": -5}}, "training.max_steps"),
])
def test_a_refused_setting_is_a_config_error_at_its_path(job_name, op, config, path):
    job = defs.resolve_job_def(job_name)
    with pytest.raises(dg.DagsterInvalidConfigError) as info:
        dg.validate_run_config(job, {"ops": {op: {"config": config}}})
    (error,) = info.value.errors
    where = f"ops.{op}.config" + (f".{path}" if path else "")
    assert error.message.startswith(where + ":")
    assert [e.field_name for e in error.stack.iter_entries()] == where.split(".")


def test_a_refused_config_stores_no_run(tmp_path):
    from tunix_rt_pipelines.cli.pipeline import build_main_job

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with pytest.raises(dg.DagsterInvalidConfigError, match="setting"):
            dg.execute_job(dg.reconstructable(build_main_job), instance=instance,
                           run_config={"ops": {"trained_checkpoint": {"config": {"batch_size": 0}}}})
        assert instance.get_runs() == []


def test_every_config_class_is_found():
    """The checks see every asset that has knobs (a missed one would be launched unchecked)."""
    found = {op: cls.__name__ for name in JOBS for op, cls in config_classes(defs.resolve_job_def(name)).items()}
    assert found == {"trained_checkpoint": "TrainingConfig", "base_predictions": "InferenceConfig", "trained_predictions": "InferenceConfig",
                     "promotion_candidate": "PromotionConfig", "leaderboard": "LeaderboardConfig", "tuning_sweep": "SweepConfig",
                     "sweep_registered_model": "SweepPromotionConfig"}


def test_the_check_hands_the_config_on_unchanged():
    """No defaults are filled in on the way: a rebound resource keeps its own settings (the artifacts go where it says)."""
    job = defs.resolve_job_def("base_vs_trained_job")
    given = {"ops": {"trained_checkpoint": {"config": {"max_steps": 3}}}}
    assert job.config_mapping.resolve_from_unvalidated_config(given) == given
    assert job.config_mapping.resolve_from_unvalidated_config(None) == {}


def test_the_sweep_smoke_preset_runs_from_an_empty_launchpad_and_is_checked():
    """sweep_smoke_job: an empty config is the preset (2 different trials, 3 steps); a typed value overrides it, and is checked."""
    from tunix_rt_pipelines.defs.jobs import SWEEP_SMOKE_RUN_CONFIG

    job = defs.resolve_job_def("sweep_smoke_job")
    assert job.config_mapping is not None
    # the launchpad scaffolds the schema's defaults: they must be the preset, not the assets' own defaults
    assert job.config_mapping.config_schema.config_type.fields["ops"].default_value == SWEEP_SMOKE_RUN_CONFIG["ops"]
    preset = SWEEP_SMOKE_RUN_CONFIG["ops"]["tuning_sweep"]["config"]
    resolved = dg.validate_run_config(job, {})["ops"]["tuning_sweep"]["config"]
    assert (resolved["num_samples"], resolved["search_space"], resolved["training"]["max_steps"]) == (
        2, preset["search_space"], 3)
    mine = dg.validate_run_config(job, {"ops": {"tuning_sweep": {"config": {"training": {"max_steps": 5}}}}})
    assert mine["ops"]["tuning_sweep"]["config"]["training"]["max_steps"] == 5
    assert mine["ops"]["tuning_sweep"]["config"]["training"]["max_train_samples"] == 32  # the rest of the preset stays
    with pytest.raises(dg.DagsterInvalidConfigError) as info:
        dg.validate_run_config(job, {"ops": {"tuning_sweep": {"config": {"num_samples": 3}}}})  # 3 trials of a 2-point grid
    assert info.value.errors[0].message.startswith("ops.tuning_sweep.config:")
    assert "minute" in job.description
