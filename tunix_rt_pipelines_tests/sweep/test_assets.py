"""tuning_sweep stands behind the evaluation lock: in sweep_job a failing evaluation_lock or a
failing dataset check blocks it in the same run, and run on its own it refuses to start
without a passing lock in its run unless forced, and then records that it was forced. Ray is never started in any of these (the sweep's `ray`
resource is a fake that fails the test if a session opens)."""

import contextlib
import json

import dagster as dg
import pytest

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.jobs import sweep_job
from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage

BLOCKING = {"evaluation_lock", "golden_v1_not_empty", "golden_v1_rows_match_contract", "golden_v1_manifest_matches_content",
            "training_traces_not_empty", "training_traces_rows_match_contract", "training_traces_manifest_matches_content",
            "training_traces_disjoint_from_golden_v1"}


class RayMustNotStart(RayResource):
    @contextlib.contextmanager
    def session(self, address: str = ""):
        raise AssertionError("Ray was started although the sweep should have been stopped before it")
        yield {}


def _resources(tmp_path, tiny_model_dir, datasets_dir):
    return {**defs.resources, "storage": ProjectStorage(datasets_dir=str(datasets_dir), artifacts_dir=str(tmp_path / "artifacts")),
            "base_model": BaseModelResource(name_or_path=str(tiny_model_dir)), "ray": RayMustNotStart()}


def _run_sweep_job(instance, resources):
    graph = dg.Definitions(assets=list(defs.assets), asset_checks=list(defs.asset_checks), jobs=[sweep_job], resources=resources)
    return graph.resolve_job_def("sweep_job").execute_in_process(instance=instance, raise_on_error=False)


def _assert_sweep_never_started(instance, result) -> None:
    entries = [e for e in instance.all_logs(result.run_id) if e.step_key == "tuning_sweep"]
    step_events = [e.dagster_event.event_type_value for e in entries if e.is_dagster_event and e.dagster_event.event_type_value.startswith("STEP_")]
    assert step_events == []  # planned, but no STEP_START, output or failure of its own
    assert any("Dependencies for step tuning_sweep failed" in e.user_message and "Not executing" in e.user_message for e in entries)


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_sweep_job_runs_the_blocking_checks_before_the_sweep():
    graph = defs.resolve_job_def("sweep_job").asset_layer.asset_graph
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert set(checks) == BLOCKING | {"sweep_registered_model_beats_champion"}  # plus the promotion's own WARN check
    assert all(checks[name].blocking for name in BLOCKING)
    sweep_inputs = {key.to_user_string() for key in graph.get(dg.AssetKey("tuning_sweep")).parent_keys}
    assert sweep_inputs == {"evaluation_spec", "golden_v1", "training_traces", "base_checkpoint"}


def test_failing_evaluation_lock_blocks_the_sweep(tmp_path, tiny_model_dir, instance, monkeypatch):
    wrong = tmp_path / "answer_correctness.lock.json"
    wrong.write_text(json.dumps({"metric": "answer_correctness", "version": 1, "sha256": "0" * 64}))
    monkeypatch.setattr(lock, "LOCK_FILE", wrong)
    from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

    result = _run_sweep_job(instance, _resources(tmp_path, tiny_model_dir, REAL_DATASETS))
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert not result.success
    assert checks["evaluation_lock"] is False
    assert all(passed for name, passed in checks.items() if name != "evaluation_lock")
    assert "tuning_sweep" not in _materialized(result)
    _assert_sweep_never_started(instance, result)


def test_failing_dataset_check_blocks_the_sweep(tmp_path, tiny_model_dir, instance, datasets_copy):
    with (datasets_copy / "golden-v1" / "items.jsonl").open("a") as fh:
        fh.write("{not json\n")
    result = _run_sweep_job(instance, _resources(tmp_path, tiny_model_dir, datasets_copy))
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert not result.success
    assert checks["evaluation_lock"] is True
    assert checks["golden_v1_rows_match_contract"] is False
    assert "tuning_sweep" not in _materialized(result)
    _assert_sweep_never_started(instance, result)


def test_sweep_alone_refuses_without_the_lock_in_its_run(tmp_path, tiny_model_dir, instance):
    from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

    resources = _resources(tmp_path, tiny_model_dir, REAL_DATASETS)
    upstream = ["golden_v1", "training_traces", "evaluation_spec", "base_checkpoint"]
    assets = list(defs.assets)
    first = dg.materialize(assets, selection=upstream, instance=instance, resources=resources)
    assert first.success and not first.get_asset_check_evaluations()
    result = dg.materialize(assets, selection=["tuning_sweep"], instance=instance, resources=resources, raise_on_error=False,
                            run_config=dg.RunConfig(ops={"tuning_sweep": SweepConfig(num_samples=1)}))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "refusing to sweep: the blocking evaluation_lock check did not run in this run" in message
    assert "set force=True" in message


@pytest.mark.parametrize("passed", [True, False])
def test_lock_result_is_read_from_this_run_only(tmp_path, instance, passed, monkeypatch):
    from tunix_rt_pipelines.defs.evaluation.lock_check import evaluation_lock, evaluation_spec, lock_passed_in_run

    if not passed:
        wrong = tmp_path / "lock.json"
        wrong.write_text(json.dumps({"metric": "answer_correctness", "version": 1, "sha256": "0" * 64}))
        monkeypatch.setattr(lock, "LOCK_FILE", wrong)
    seen = {}

    @dg.asset(deps=[evaluation_spec])
    def probe(context: dg.AssetExecutionContext) -> None:
        seen["lock"] = lock_passed_in_run(context.instance, context.run.run_id)

    storage = {"storage": ProjectStorage(artifacts_dir=str(tmp_path / "artifacts"))}
    dg.materialize([evaluation_spec, evaluation_lock, probe], instance=instance, raise_on_error=False, resources=storage,
                   selection=["evaluation_spec", "probe"] if passed else None)
    if passed:
        assert seen["lock"] is True
        dg.materialize([evaluation_spec, probe], selection=["probe"], instance=instance, resources=storage)
        assert seen["lock"] is False  # an earlier run's check does not count
    else:
        assert "lock" not in seen  # blocked: the probe never ran, so a failed lock never reaches a guard


@pytest.mark.parametrize("force", [False, True])
def test_lock_gate_without_the_lock_refuses_unless_forced(instance, force):
    from tunix_rt_pipelines.defs.sweep.assets import lock_gate

    seen = {}

    @dg.asset
    def probe(context: dg.AssetExecutionContext) -> None:
        seen["state"] = lock_gate(context, force)

    result = dg.materialize([probe], instance=instance, raise_on_error=False)
    if force:
        assert result.success
        assert {k: v for k, v in seen["state"].items() if k != "live_lock"} == {"checked_in_run": False, "passed": False, "forced": True}
        assert seen["state"]["live_lock"] == lock.check_lock().message
    else:
        assert not result.success and "state" not in seen
        message = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
        assert "refusing to sweep: the blocking evaluation_lock check did not run in this run" in message
