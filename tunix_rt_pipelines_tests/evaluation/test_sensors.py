"""reevaluate_on_golden_or_evaluator_change across ticks: quiet while the evaluations match the
live golden-v1 and evaluator; a new evaluator re-scores (no new predictions), a new golden set
re-predicts too; golden_v1 and evaluation_spec are always in the run so their blocking checks
gate it; the same state is never requested twice; STOPPED by default."""

import json
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.evaluation.sensors import reevaluate_on_golden_or_evaluator_change as sensor
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.datasets.refs import DatasetRef
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.evaluation.evaluate import evaluate_predictions
from tunix_rt_pipelines.lib.evaluation.predictions import predictions_jsonl
from tunix_rt_pipelines.resources.storage import ProjectStorage

GATING_CHECKS = {"evaluation_lock", "golden_v1_not_empty", "golden_v1_rows_match_contract", "golden_v1_manifest_matches_content"}


def record_evaluation(instance, key: str, golden_dir: Path, spec_sha256: str, tmp_path: Path) -> None:
    """Score hand-written predictions with the real `evaluate_predictions` and record what the
    evaluation assets record of it (dataset and spec hashes; test_pipeline checks they do) as a
    materialization of `key`: the sensor reads nothing else."""
    data = read_dataset(golden_dir)
    golden = DatasetRef.of("golden-v1", data)
    out = tmp_path / f"{key}-{spec_sha256[:6]}-{data.sha256[:6]}"
    out.mkdir()
    (out / "predictions.jsonl").write_bytes(predictions_jsonl((row.id, "Answer: 42") for row in data.rows))
    (out / "predictions_meta.json").write_text(json.dumps({"dataset_sha256": data.sha256, "model_sha256": "m" * 64}))
    evaluation = evaluate_predictions(out, data.rows, golden, spec_sha256, out.with_name(f"{out.name}-evaluation"))
    metadata = {"dataset_sha256": evaluation.dataset_sha256, "spec_sha256": evaluation.spec_sha256}
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, metadata=metadata))


def tick(instance, datasets_dir, cursor=None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                      resources={"storage": ProjectStorage(datasets_dir=str(datasets_dir))})
    return sensor.evaluate_tick(context)


def selected(result) -> list[str]:
    [request] = result.run_requests
    return [key.to_user_string() for key in request.asset_selection]


def test_starts_stopped():
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert sensor.job_name == "evaluation_refresh_job"


def test_refreshes_follow_what_changed(instance, datasets_copy, tmp_path):
    golden_dir = datasets_copy / "golden-v1"
    live_spec = lock.spec_sha256()
    assert "no evaluation materialized yet" in tick(instance, datasets_copy).skip_message

    # both sides scored on the current golden set with the current evaluator: nothing to do
    for key in ("base_evaluation", "trained_evaluation"):
        record_evaluation(instance, key, golden_dir, live_spec, tmp_path)
    result = tick(instance, datasets_copy)
    assert not result.run_requests and "current golden-v1 with the current evaluator" in result.skip_message

    # the evaluator changed since they were scored: re-score only, predictions stay
    for key in ("base_evaluation", "trained_evaluation"):
        record_evaluation(instance, key, golden_dir, "0" * 64, tmp_path)
    result = tick(instance, datasets_copy)
    assert selected(result) == ["golden_v1", "evaluation_spec", "base_evaluation", "trained_evaluation", "base_vs_trained"]
    first_key = result.run_requests[0].run_key
    # the same state again: not requested twice
    again = tick(instance, datasets_copy, result.cursor)
    assert not again.run_requests and "already requested" in again.skip_message

    # golden-v1 changed as well: predictions are made again
    with (golden_dir / "items.jsonl").open("a") as fh:
        fh.write("\n")
    result = tick(instance, datasets_copy, again.cursor)
    assert selected(result) == ["golden_v1", "evaluation_spec", "base_predictions", "base_evaluation",
                                "trained_predictions", "trained_evaluation", "base_vs_trained"]
    assert result.run_requests[0].run_key != first_key and result.cursor != again.cursor


def test_only_the_sides_that_exist_are_refreshed(instance, datasets_copy, tmp_path):
    record_evaluation(instance, "base_evaluation", datasets_copy / "golden-v1", "0" * 64, tmp_path)
    assert selected(tick(instance, datasets_copy)) == ["golden_v1", "evaluation_spec", "base_evaluation"]


@pytest.mark.parametrize("golden_changed", [False, True])
def test_the_blocking_checks_run_in_the_refresh(instance, datasets_copy, tmp_path, golden_changed):
    golden_dir = datasets_copy / "golden-v1"
    for key in ("base_evaluation", "trained_evaluation"):
        record_evaluation(instance, key, golden_dir, "0" * 64, tmp_path)
    if golden_changed:
        with (golden_dir / "items.jsonl").open("a") as fh:
            fh.write("\n")
    [request] = tick(instance, datasets_copy).run_requests
    assert GATING_CHECKS | {"trained_beats_base"} == {key.name for key in request.asset_check_keys}
    job = defs.resolve_job_def("evaluation_refresh_job").get_subset(asset_selection=set(request.asset_selection),
                                                                    asset_check_selection=set(request.asset_check_keys))
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert checks >= GATING_CHECKS
    graph = job.asset_layer.asset_graph
    assert all(graph.get_check_spec(k).blocking for k in graph.asset_check_keys if k.name in GATING_CHECKS)


def test_a_malformed_lock_is_a_skip_with_its_reason(instance, datasets_copy, tmp_path, monkeypatch):
    for key in ("base_evaluation", "trained_evaluation"):
        record_evaluation(instance, key, datasets_copy / "golden-v1", "0" * 64, tmp_path)
    bad = tmp_path / "answer_correctness.lock.json"
    bad.write_text("[1, 2]")
    monkeypatch.setattr(lock, "LOCK_FILE", bad)
    result = tick(instance, datasets_copy)
    assert not result.run_requests and result.skip_message.startswith("no refresh requested: answer_correctness.lock.json is not a valid lock")
