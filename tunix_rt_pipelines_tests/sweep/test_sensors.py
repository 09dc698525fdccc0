"""sweep_on_new_training_inputs across ticks: it waits for both inputs, requests one sweep per
(traces, base) data-version pair, never requests the same pair twice (sweep_job itself
re-materializes both), follows new data and new base models, and its cursor advances."""

import json

import dagster as dg
import pytest

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.datasets.assets import training_traces
from tunix_rt_pipelines.defs.models.assets import base_checkpoint
from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.defs.sweep.sensors import sweep_on_new_training_inputs, sweep_run_key
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


class Inputs:
    """Materializes training_traces and base_checkpoint for real (cheap: no training, no torch)."""

    def __init__(self, instance, datasets_dir, artifacts_dir):
        self.instance, self.datasets_dir, self.artifacts_dir = instance, datasets_dir, artifacts_dir

    def materialize(self, model_dir, *keys: str) -> dict[str, str]:
        resources = {"storage": ProjectStorage(datasets_dir=str(self.datasets_dir), artifacts_dir=str(self.artifacts_dir)),
                     "base_model": BaseModelResource(name_or_path=str(model_dir))}
        result = dg.materialize([training_traces, base_checkpoint], selection=list(keys or ("training_traces", "base_checkpoint")),
                                instance=self.instance, resources=resources)
        return {e.asset_key.to_user_string(): e.materialization.tags["dagster/data_version"] for e in result.get_asset_materialization_events()}


def tick(instance, cursor):
    return sweep_on_new_training_inputs.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))


@pytest.fixture
def inputs(instance, datasets_copy, tmp_path):
    return Inputs(instance, datasets_copy, tmp_path / "artifacts")


def test_starts_stopped_and_targets_sweep_job():
    assert sweep_on_new_training_inputs.default_status == dg.DefaultSensorStatus.STOPPED
    assert sweep_on_new_training_inputs.job_name == "sweep_job"


def test_one_sweep_per_data_version_pair(instance, inputs, datasets_copy, tiny_model_dir, tiny_gpt2_dir):
    sweep_job = defs.resolve_job_def("sweep_job")
    cursors, keys = [], []

    # tick 1: nothing materialized yet
    result = tick(instance, None)
    assert not result.run_requests and "waiting for a first materialization of training_traces, base_checkpoint" in result.skip_message

    # tick 2: both inputs present -> one sweep, keyed by both data versions
    versions = inputs.materialize(tiny_model_dir)
    result = tick(instance, result.cursor)
    [request] = result.run_requests
    assert request.run_key == sweep_run_key(versions["training_traces"], versions["base_checkpoint"])
    resolved = dg.validate_run_config(sweep_job, request.run_config)  # what the daemon will run: the default sweep
    assert resolved["ops"]["tuning_sweep"]["config"]["num_samples"] == SweepConfig().num_samples
    cursors.append(result.cursor)
    keys.append(request.run_key)

    # tick 3: nothing new
    result = tick(instance, cursors[-1])
    assert not result.run_requests and result.skip_message == "no new training_traces or base_checkpoint materialization"

    # tick 4: both re-materialized with the same data (what sweep_job itself does) -> no second sweep, cursor moves on
    inputs.materialize(tiny_model_dir)
    result = tick(instance, cursors[-1])
    assert not result.run_requests and "already requested" in result.skip_message
    assert json.loads(result.cursor)["seen"] != json.loads(cursors[-1])["seen"]
    cursors.append(result.cursor)

    # tick 5: new training data -> a new sweep
    with (datasets_copy / "reasoning-traces-v2" / "items.jsonl").open("a") as fh:
        fh.write("\n")  # any content change is a new data version
    new = inputs.materialize(tiny_model_dir, "training_traces")
    assert new["training_traces"] != versions["training_traces"]
    result = tick(instance, cursors[-1])
    [request] = result.run_requests
    assert request.run_key == sweep_run_key(new["training_traces"], versions["base_checkpoint"])
    assert request.tags["tunix_rt/training_traces_version"] == new["training_traces"]
    keys.append(request.run_key)
    cursors.append(result.cursor)

    # tick 6: a new base model -> a new sweep
    base = inputs.materialize(tiny_gpt2_dir, "base_checkpoint")
    result = tick(instance, cursors[-1])
    [request] = result.run_requests
    assert request.run_key == sweep_run_key(new["training_traces"], base["base_checkpoint"])
    keys.append(request.run_key)
    cursors.append(result.cursor)

    assert len(set(keys)) == len(keys) == 3
    assert len(set(cursors)) == len(cursors)


def test_a_refused_config_is_a_skip_with_its_reason(instance, inputs, tiny_model_dir, monkeypatch):
    """What the launch would refuse is never requested: the tick skips, naming the setting, and keeps its cursor."""
    from tunix_rt_pipelines.defs.sweep import sensors

    inputs.materialize(tiny_model_dir)
    # A default the launch check refuses (model_construct skips pydantic's own check, as a bad default would).
    monkeypatch.setattr(sensors, "SweepConfig", lambda: SweepConfig.model_construct(num_samples=0))
    result = tick(instance, None)
    assert not result.run_requests
    assert "sweep_job's config is refused" in result.skip_message and "ops.tuning_sweep.config.num_samples" in result.skip_message
    assert result.cursor is None  # every tick says it again until the config is fixed
