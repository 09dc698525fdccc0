"""The LLM judge's assets on a test instance: lock, calibration gate, judgements, clean failures.

Contract: with builtin:tiny as the judge (the shipped default), calibration runs and the
blocking gate refuses it with TPR/TNR in its metadata, and no judgement runs; a judge that
meets the thresholds (the deterministic rule, pinned in a lock of its own) passes and judges
the trained predictions beside answer_correctness, its corrected score equal to the raw one
within the CI; an unreachable endpoint fails the calibration step in one line and writes nothing.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.defs.datasets.assets import eval_set_asset, golden_v1, golden_v1_calibration
from tunix_rt_pipelines.defs.evaluation.judges import (
    CALIBRATION_GATE,
    llm_judge_calibration,
    llm_judge_lock,
    llm_judge_spec,
    run_judgement,
    trained_llm_judgement,
)
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.evaluation.calibration_set import CALIBRATION_KEY
from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.lib.inference.judge_settings import build_judge
from tunix_rt_pipelines.resources.llm_judge import LlmJudgeResource
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.registry.factories import DATASETS, make_eval_set, make_evaluation

JUDGE_STEPS = [golden_v1, golden_v1_calibration, llm_judge_spec, llm_judge_lock, llm_judge_calibration, trained_llm_judgement]


def _stand_in(name: str, metadata: dict) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def _asset() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def _run(tmp_path: Path, instance, judge: LlmJudgeResource, trained_correct: int = 45) -> dg.ExecuteInProcessResult:
    storage = ProjectStorage(datasets_dir=str(DATASETS), artifacts_dir=str(tmp_path / "artifacts"))
    evaluation = make_evaluation(tmp_path / "trained-eval", "0" * 64, trained_correct).path
    predictions = evaluation.parent.with_name("trained-eval-predictions")
    stand_ins = [_stand_in("trained_predictions", storage.pointer_metadata(predictions, "p" * 64)),
                 _stand_in("trained_evaluation", storage.pointer_metadata(evaluation, sha256_file(evaluation)))]
    return dg.materialize([*stand_ins, *JUDGE_STEPS], instance=instance, raise_on_error=False,
                          resources={"storage": storage, "llm_judge": judge})


def _pinned(tmp_path: Path, judge: LlmJudgeResource) -> LlmJudgeResource:
    """The same judge with a lock of its own (a new judge model is pinned, never edited into v1's lock)."""
    path = tmp_path / "llm_judge.lock.json"
    lock.pin_judge(build_judge(judge.settings(), tmp_path / "models"), path)
    return LlmJudgeResource(**{**judge.settings().model_dump(), "lock_file": str(path)})


def _checks(result: dg.ExecuteInProcessResult) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_the_tiny_judge_is_refused_and_judges_nothing(tmp_path: Path, instance):
    result = _run(tmp_path, instance, LlmJudgeResource(calibration_max_items=40, batch_size=40))
    checks = _checks(result)

    assert checks["llm_judge_lock"].passed  # the shipped lock is this judge's
    gate = checks[CALIBRATION_GATE]
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    assert gate.metadata["observed_tpr"].value < 0.9 and gate.metadata["observed_tnr"].value < 0.9
    assert "is refused" in gate.description
    assert "llm_judge_calibration" in _materialized(result) and "trained_llm_judgement" not in _materialized(result)


def test_a_judge_that_meets_the_thresholds_judges_beside_answer_correctness(tmp_path: Path, instance):
    result = _run(tmp_path, instance, _pinned(tmp_path, LlmJudgeResource(backend="rule")))
    meta = {k: v.value for k, v in result.asset_materializations_for_node("trained_llm_judgement")[0].metadata.items()}

    assert result.success and _checks(result)[CALIBRATION_GATE].passed
    assert meta["score"] == meta["answer_correctness_score"] == 0.45
    assert meta["corrected_score"] == pytest.approx(meta["score"], abs=1e-12)
    assert meta["corrected_ci95_low"] <= meta["score"] <= meta["corrected_ci95_high"]
    assert meta["agreement_rate"] == 1.0 and meta["unparseable"] == 0


def test_an_unreachable_endpoint_fails_the_step_in_one_line_and_writes_nothing(tmp_path: Path, instance, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TUNIX_RT_JUDGE_API_KEY", "not-a-secret")
    judge = _pinned(tmp_path, LlmJudgeResource(backend="openai", model="tiny", base_url=f"http://127.0.0.1:{port}/v1",
                                               max_retries=0, timeout_s=2, calibration_max_items=8))
    result = _run(tmp_path, instance, judge)

    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert "is unreachable" in message and "\n" not in message.strip() and "not-a-secret" not in message
    assert not (tmp_path / "artifacts" / "judge_calibrations").exists() or not any((tmp_path / "artifacts" / "judge_calibrations").iterdir())
    assert "trained_llm_judgement" not in _materialized(result)


def _judgement_on(dataset_asset: str) -> dg.AssetsDefinition:
    """trained_llm_judgement as the code location builds it for a primary eval set whose asset is `dataset_asset`."""

    @dg.asset(name="trained_llm_judgement", deps=[dataset_asset, "llm_judge_calibration", "trained_predictions", "trained_evaluation"])
    def _judgement(context, llm_judge: LlmJudgeResource, storage: ProjectStorage) -> dg.MaterializeResult:
        return run_judgement(context, llm_judge, storage, "trained", dataset_asset)

    return _judgement


def test_the_judgement_joins_the_items_of_the_primary_set_the_predictions_answered(tmp_path: Path, instance):
    """A declared primary set other than golden-v1: the judge scores its predictions against that set's items (joining
    golden-v1's would refuse them as other items), while the calibration stays golden-v1-calibration's."""
    datasets = tmp_path / "datasets"
    rows, sha = make_eval_set(datasets, "my-evals-v1", 20)
    shutil.copytree(DATASETS / CALIBRATION_KEY, datasets / CALIBRATION_KEY)
    storage = ProjectStorage(datasets_dir=str(datasets), artifacts_dir=str(tmp_path / "artifacts"))
    evaluation = make_evaluation(tmp_path / "trained-eval", "0" * 64, 5, ("my-evals-v1", rows, sha)).path
    predictions = evaluation.parent.with_name("trained-eval-predictions")
    stand_ins = [_stand_in("trained_predictions", storage.pointer_metadata(predictions, "p" * 64)),
                 _stand_in("trained_evaluation", storage.pointer_metadata(evaluation, sha256_file(evaluation)))]
    judge = _pinned(tmp_path, LlmJudgeResource(backend="rule"))
    common = [*stand_ins, golden_v1_calibration, llm_judge_spec, llm_judge_lock, llm_judge_calibration]

    result = dg.materialize([*common, eval_set_asset("my-evals-v1"), _judgement_on("my_evals_v1")], instance=instance,
                            resources={"storage": storage, "llm_judge": judge})
    meta = {k: v.value for k, v in result.asset_materializations_for_node("trained_llm_judgement")[0].metadata.items()}
    assert meta["n"] == 20 and meta["score"] == meta["answer_correctness_score"] == 0.25 and meta["agreement_rate"] == 1.0
    assert result.asset_materializations_for_node("llm_judge_calibration")[0].metadata["n"].value == 200

    shutil.copytree(DATASETS / "golden-v1", datasets / "golden-v1", dirs_exist_ok=True)
    wrong = dg.materialize([*common, golden_v1, _judgement_on("golden_v1")], instance=instance, raise_on_error=False,
                           resources={"storage": storage, "llm_judge": judge})
    [failure] = [e for e in wrong.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "the evaluation covers other items than the dataset" in failure.event_specific_data.error.message
