"""The LLM judge: `llm_judge_spec` and its lock, `llm_judge_calibration` and its gate, and the
judgements of the base and trained predictions beside answer_correctness.

Every step asks the `llm_judge` resource for the same judge. The lock check and the calibration
gate are blocking: a judge whose rubric or model drifted, or whose TPR/TNR on the labelled
calibration set is below the thresholds, never scores a model. answer_correctness stays the
primary judge (it decides "best" for the registry and the sweeps); the LLM judge is reported.
"""

import json

import dagster as dg

from tunix_rt_pipelines.defs.evaluation.assets import PRIMARY
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, load_rows
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.evaluation.calibration import gate
from tunix_rt_pipelines.lib.evaluation.evaluate import read_evaluation
from tunix_rt_pipelines.lib.evaluation.judgement import CALIBRATION_FILE, judge_evaluation, read_calibration, run_calibration
from tunix_rt_pipelines.lib.evaluation.judges import judge_id
from tunix_rt_pipelines.lib.evaluation.llm_judge import JudgeBackendError
from tunix_rt_pipelines.lib.hashing import folder_key, sha256_file
from tunix_rt_pipelines.lib.models.loading import ModelLoadError
from tunix_rt_pipelines.resources.llm_judge import LlmJudgeResource
from tunix_rt_pipelines.resources.storage import ProjectStorage

CALIBRATION_GATE = "llm_judge_calibration_passes"
_FAILURES = (JudgeBackendError, ModelLoadError, DatasetError, ValueError)


def _judge(llm_judge: LlmJudgeResource, storage: ProjectStorage):
    try:
        return llm_judge.judge(storage.artifacts_path("models"))
    except ModelLoadError as exc:
        raise dg.Failure(description=f"llm_judge model: {exc}", allow_retries=False) from None


@dg.asset(group_name="evaluation", kinds={"python"})
def llm_judge_spec(llm_judge: LlmJudgeResource, storage: ProjectStorage) -> dg.MaterializeResult:
    """llm_judge@v1 as data (rubric, parser, decoding, judge model), versioned by its hash."""
    judge = _judge(llm_judge, storage)
    live = judge.spec_sha256()
    return dg.MaterializeResult(data_version=dg.DataVersion(live), metadata={
        "judge": judge_id(judge), "sha256": live, "spec": dg.MetadataValue.json(judge.spec()),
        "rubric": dg.MetadataValue.md(f"```\n{judge.spec()['rubric']}```")})


@dg.asset_check(asset=llm_judge_spec, blocking=True,
                description="The live LLM judge (rubric, parser, judge model) hashes to its pinned lock.")
def llm_judge_lock(context: dg.AssetCheckExecutionContext, llm_judge: LlmJudgeResource, storage: ProjectStorage) -> dg.AssetCheckResult:
    judge = _judge(llm_judge, storage)
    status = lock.check_judge_lock(judge, llm_judge.lock_path())
    materialized = str(storage.upstream_metadata(context, "llm_judge_spec")["sha256"].value)
    passed = status.passed and materialized == status.live.sha256
    return dg.AssetCheckResult(passed=passed, description=status.message, metadata={
        "observed_sha256": materialized, "expected_sha256": status.pinned.sha256 if status.pinned else "none",
        "observed_version": status.live.version, "expected_version": status.pinned.version if status.pinned else -1,
        "how_to_fix": lock.PIN_COMMAND if not passed else "nothing to do"})


def _confusion_table(confusion: dict) -> dg.MetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"label": label, **row}) for label, row in confusion.items()],
        schema=dg.TableSchema(columns=[dg.TableColumn("label", "string"), dg.TableColumn("correct", "int"),
                                       dg.TableColumn("incorrect", "int"), dg.TableColumn("unparseable", "int")]))


@dg.asset(group_name="evaluation", deps=["golden_v1_calibration", "llm_judge_spec"], kinds={"python"},
          check_specs=[dg.AssetCheckSpec(CALIBRATION_GATE, asset="llm_judge_calibration", blocking=True,
                                         description="TPR and TNR on the labelled calibration set are at or above the thresholds.")])
def llm_judge_calibration(context: dg.AssetExecutionContext, llm_judge: LlmJudgeResource, storage: ProjectStorage):
    """The LLM judge on golden-v1-calibration: TPR, TNR, accuracy and Cohen's kappa with 95% CIs, and the confusion table."""
    ref, folder = storage.upstream_dataset(context, "golden_v1_calibration")
    judge = _judge(llm_judge, storage)
    out = storage.artifacts_path("judge_calibrations", folder_key(judge.spec_sha256(), ref.sha256, llm_judge.calibration_max_items))
    try:
        rows = load_rows(folder, ref, limit=llm_judge.calibration_max_items or None)
        result = run_calibration(judge, rows, out, ref.sha256)
    except _FAILURES as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    figures = {name: getattr(result, name) for name in ("tpr", "tnr", "accuracy", "kappa")}
    intervals = {f"{name}_ci95_{end}": getattr(result, f"{name}_ci95")[i] for name in figures for i, end in enumerate(("low", "high"))}
    digest = sha256_file(out / CALIBRATION_FILE)
    yield dg.MaterializeResult(data_version=dg.DataVersion(digest), metadata={
        **{k: dg.MetadataValue.float(v) for k, v in (figures | intervals).items()}, "n": dg.MetadataValue.int(result.n),
        "judge": result.judge, "judge_sha256": result.judge_sha256, "confusion": _confusion_table(result.confusion),
        "by_variant": dg.MetadataValue.json(result.by_variant), **storage.pointer_metadata(out / CALIBRATION_FILE, digest)})
    decision = gate(result, llm_judge.min_tpr, llm_judge.min_tnr)
    yield dg.AssetCheckResult(check_name=CALIBRATION_GATE, passed=decision.passed, description=decision.message, metadata={
        "observed_tpr": result.tpr, "expected_tpr": f">= {llm_judge.min_tpr}", "observed_tnr": result.tnr,
        "expected_tnr": f">= {llm_judge.min_tnr}", "kappa": result.kappa, "n": result.n, "confusion": _confusion_table(result.confusion)})


def run_judgement(context: dg.AssetExecutionContext, llm_judge: LlmJudgeResource, storage: ProjectStorage, side: str,
                  dataset_asset: str) -> dg.MaterializeResult:
    """Shared body of both judgements: the calibrated judge over `<side>_predictions`, beside `<side>_evaluation`.

    `dataset_asset` is the eval set those predictions answered (the primary set's asset): its items are joined
    with the predictions. The calibration stays golden-v1-calibration's whichever set is primary."""
    dataset, dataset_dir = storage.upstream_dataset(context, dataset_asset)
    evaluation = storage.upstream(context, f"{side}_evaluation")
    predictions = storage.upstream_path(context, f"{side}_predictions")
    calibration = storage.upstream(context, "llm_judge_calibration")
    judge = _judge(llm_judge, storage)
    out = storage.artifacts_path("judgements", folder_key(evaluation.sha256, calibration.sha256))
    try:
        _, baseline = read_evaluation(evaluation.resolve(storage.artifacts_root()))
        payload = judge_evaluation(judge, load_rows(dataset_dir, dataset), predictions, baseline,
                                   read_calibration(calibration.resolve(storage.artifacts_root())), out)
    except _FAILURES as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    table = payload["agreement"]["table"]
    agreement = dg.MetadataValue.table(
        records=[dg.TableRecord({"answer_correctness": row, **cols}) for row, cols in table.items()],
        schema=dg.TableSchema(columns=[dg.TableColumn("answer_correctness", "string")] +
                              [dg.TableColumn(f"{c}", "int") for c in ("correct", "incorrect", "unparseable")]))
    digest = sha256_file(out / "judgement.json")
    return dg.MaterializeResult(data_version=dg.DataVersion(digest), metadata={
        "judge": payload["judge"], "score": payload["score"], "ci95_low": payload["ci95"][0], "ci95_high": payload["ci95"][1],
        "corrected_score": payload["corrected_score"], "corrected_ci95_low": payload["corrected_ci95"][0],
        "corrected_ci95_high": payload["corrected_ci95"][1], "n": payload["n"], "unparseable": payload["unparseable"],
        "answer_correctness_score": baseline["score"], "agreement_rate": payload["agreement"]["rate"], "agreement": agreement,
        "items": dg.MetadataValue.json(json.loads(json.dumps(payload["items"][:20]))),
        **storage.pointer_metadata(out / "judgement.json", digest)})


@dg.asset(group_name="evaluation", deps=[PRIMARY, "llm_judge_calibration", "base_predictions", "base_evaluation"], kinds={"python"})
def base_llm_judgement(context: dg.AssetExecutionContext, llm_judge: LlmJudgeResource, storage: ProjectStorage) -> dg.MaterializeResult:
    """The calibrated LLM judge on the base model's predictions: raw and bias-corrected score, agreement with answer_correctness."""
    return run_judgement(context, llm_judge, storage, "base", PRIMARY)


@dg.asset(group_name="evaluation", deps=[PRIMARY, "llm_judge_calibration", "trained_predictions", "trained_evaluation"],
          kinds={"python"})
def trained_llm_judgement(context: dg.AssetExecutionContext, llm_judge: LlmJudgeResource, storage: ProjectStorage) -> dg.MaterializeResult:
    """The calibrated LLM judge on the fine-tuned model's predictions: raw and bias-corrected score, agreement with answer_correctness."""
    return run_judgement(context, llm_judge, storage, "trained", PRIMARY)
