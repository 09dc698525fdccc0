"""`base_evaluation`, `trained_evaluation` and `base_vs_trained`, with `trained_beats_base`.

The evaluations depend on `evaluation_spec`, so its blocking `evaluation_lock` check runs in the
same job and stops them when the metric drifted.
"""


import hashlib
import json
from pathlib import Path

import dagster as dg

from tunix_rt_pipelines.defs.evaluation.lock_check import SpecRef
from tunix_rt_pipelines.defs.metadata import breakdown_table, png_markdown
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, DatasetRef, load_rows
from tunix_rt_pipelines.lib.evaluation.compare import SIGNIFICANCE_LEVEL, compare, plot_by_category
from tunix_rt_pipelines.lib.evaluation.evaluate import EvaluationRef, evaluate_predictions, read_evaluation
from tunix_rt_pipelines.lib.files import atomic_write_text
from tunix_rt_pipelines.lib.inference.predict import PredictionsRef
from tunix_rt_pipelines.resources.storage import ProjectStorage


def run_evaluation(golden: DatasetRef, spec: SpecRef, predictions: PredictionsRef) -> dg.MaterializeResult:
    try:
        ref, report = evaluate_predictions(Path(predictions.path), load_rows(golden), golden.key, golden.sha256, spec.sha256)
    except (DatasetError, ValueError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return dg.MaterializeResult(
        value=ref,
        data_version=dg.DataVersion(hashlib.sha256(Path(ref.path).read_bytes()).hexdigest()),
        metadata={
            "score": dg.MetadataValue.float(ref.score), "n": dg.MetadataValue.int(ref.n), "correct": dg.MetadataValue.int(ref.correct),
            "ci95_low": dg.MetadataValue.float(ref.ci95[0]), "ci95_high": dg.MetadataValue.float(ref.ci95[1]),
            "by_category": breakdown_table(report["by_category"], "category"),
            "by_difficulty": breakdown_table(report["by_difficulty"], "difficulty"),
            "evaluator": dg.MetadataValue.text(ref.evaluator), "spec_sha256": dg.MetadataValue.text(ref.spec_sha256),
            "dataset": dg.MetadataValue.text(ref.dataset_key), "dataset_sha256": dg.MetadataValue.text(ref.dataset_sha256),
            "model": dg.MetadataValue.text(ref.model_name), "model_sha256": dg.MetadataValue.text(ref.model_sha256),
            "results": dg.MetadataValue.path(ref.path),
        },
    )


@dg.asset(group_name="evaluation", code_version="evaluation-v1", kinds={"python"})
def base_evaluation(golden_v1: DatasetRef, evaluation_spec: SpecRef, base_predictions: PredictionsRef) -> dg.MaterializeResult:
    """answer_correctness@v1 of the base model on golden-v1, with CI and breakdowns."""
    return run_evaluation(golden_v1, evaluation_spec, base_predictions)


@dg.asset(group_name="evaluation", code_version="evaluation-v1", kinds={"python"})
def trained_evaluation(golden_v1: DatasetRef, evaluation_spec: SpecRef, trained_predictions: PredictionsRef) -> dg.MaterializeResult:
    """answer_correctness@v1 of the fine-tuned model on golden-v1, with CI and breakdowns."""
    return run_evaluation(golden_v1, evaluation_spec, trained_predictions)


@dg.asset(group_name="evaluation", code_version="comparison-v1", kinds={"python"},
          check_specs=[dg.AssetCheckSpec("trained_beats_base", asset="base_vs_trained",
                                         description="The trained model scores higher than the base on paired items (McNemar p < 0.05).")])
def base_vs_trained(base_evaluation: EvaluationRef, trained_evaluation: EvaluationRef, storage: ProjectStorage):
    """Did fine-tuning help? Delta overall and per category, flipped items and the exact McNemar p-value."""
    base, trained = read_evaluation(base_evaluation), read_evaluation(trained_evaluation)
    try:
        result = compare(base, trained)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    key = hashlib.sha256(f"{base_evaluation.path}|{trained_evaluation.path}".encode()).hexdigest()[:16]
    out = storage.artifacts_path("comparisons", key)
    out.mkdir(parents=True, exist_ok=True)
    payload = {**result.to_dict(),
               "base": {"model": base_evaluation.model_name, "model_sha256": base_evaluation.model_sha256, "ci95": base_evaluation.ci95},
               "trained": {"model": trained_evaluation.model_name, "model_sha256": trained_evaluation.model_sha256, "ci95": trained_evaluation.ci95},
               "evaluator": trained_evaluation.evaluator, "dataset_sha256": trained_evaluation.dataset_sha256}
    atomic_write_text(out / "comparison.json", json.dumps(payload, indent=1) + "\n")
    plot_by_category(result, out / "by_category.png")
    numbers = {"base_score": result.base_score, "trained_score": result.trained_score, "delta": result.delta,
               "p_value": result.p_value, "fixed": result.fixed, "broken": result.broken, "n": result.n}
    flips = [dg.TableRecord({"kind": kind, **e}) for kind, group in (("fixed", result.fixed_examples), ("broken", result.broken_examples)) for e in group]
    yield dg.MaterializeResult(
        value=payload,
        metadata={
            **{k: (dg.MetadataValue.int(v) if isinstance(v, int) else dg.MetadataValue.float(v)) for k, v in numbers.items()},
            "evaluator": dg.MetadataValue.text(trained_evaluation.evaluator),
            "dataset_sha256": dg.MetadataValue.text(trained_evaluation.dataset_sha256),
            "by_category": dg.MetadataValue.table(
                records=[dg.TableRecord({"category": c, **{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}})
                         for c, row in result.by_category.items()],
                schema=dg.TableSchema(columns=[dg.TableColumn("category", "string"), dg.TableColumn("base", "float"),
                                               dg.TableColumn("trained", "float"), dg.TableColumn("delta", "float"), dg.TableColumn("n", "int")])),
            "flip_examples": dg.MetadataValue.table(records=flips) if flips else dg.MetadataValue.text("no flips"),
            "chart": png_markdown(out / "by_category.png", "score by category"),
            "comparison": dg.MetadataValue.path(str(out / "comparison.json")),
        },
    )
    yield dg.AssetCheckResult(check_name="trained_beats_base", passed=result.significant_improvement,
                              severity=dg.AssetCheckSeverity.WARN, metadata=numbers | {"significance_level": SIGNIFICANCE_LEVEL})
