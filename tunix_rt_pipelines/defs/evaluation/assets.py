"""`base_evaluation`, `trained_evaluation` and `base_vs_trained`, with `trained_beats_base`.

The evaluations depend on `evaluation_spec`, so its blocking `evaluation_lock` check runs in the
same job and stops them when the metric drifted. Each evaluation and the comparison get their own
content-addressed folder under the artifact root; nothing rewrites the predictions they read.
"""

import json

import dagster as dg

from tunix_rt_pipelines.defs.evaluation.lock_check import spec_sha256_of
from tunix_rt_pipelines.defs.metadata import breakdown_table, cell, p_value, png_markdown, rounded
from tunix_rt_pipelines.lib.datasets.declared import primary_asset
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, load_rows
from tunix_rt_pipelines.lib.evaluation.compare import SIGNIFICANCE_LEVEL, compare, plot_by_category
from tunix_rt_pipelines.lib.evaluation.evaluate import evaluate_predictions, evaluation_key, read_evaluation
from tunix_rt_pipelines.lib.files import atomic_write_text
from tunix_rt_pipelines.lib.hashing import folder_key, sha256_file
from tunix_rt_pipelines.resources.storage import ProjectStorage

COMPARISON_FILE = "comparison.json"
PRIMARY = primary_asset()  # golden_v1 unless tunix_rt.yaml declares another primary eval set


def run_evaluation(context: dg.AssetExecutionContext, storage: ProjectStorage, predictions_key: str,
                   dataset_asset: str) -> dg.MaterializeResult:
    """Shared body of every evaluation: the eval set, the spec hash and the predictions come from their pointers."""
    golden, golden_dir = storage.upstream_dataset(context, dataset_asset)
    spec_sha256 = spec_sha256_of(context, storage)
    predictions = storage.upstream(context, predictions_key)
    out_dir = storage.artifacts_path("evaluations", evaluation_key(predictions.sha256, golden.sha256, spec_sha256))
    try:
        evaluation = evaluate_predictions(predictions.resolve(storage.artifacts_root()), load_rows(golden_dir, golden), golden,
                                          spec_sha256, out_dir)
    except (DatasetError, ValueError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    _, report = read_evaluation(evaluation.path)
    digest = sha256_file(evaluation.path)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(digest),
        metadata={
            "score": dg.MetadataValue.float(rounded(evaluation.score)), "n": dg.MetadataValue.int(evaluation.n),
            "correct": dg.MetadataValue.int(evaluation.correct),
            "ci95_low": dg.MetadataValue.float(rounded(evaluation.ci95[0])), "ci95_high": dg.MetadataValue.float(rounded(evaluation.ci95[1])),
            "by_category": breakdown_table(report["by_category"], "category"),
            "by_difficulty": breakdown_table(report["by_difficulty"], "difficulty"),
            "evaluator": dg.MetadataValue.text(evaluation.evaluator), "spec_sha256": dg.MetadataValue.text(evaluation.spec_sha256),
            "dataset": dg.MetadataValue.text(evaluation.dataset_key), "dataset_sha256": dg.MetadataValue.text(evaluation.dataset_sha256),
            "model": dg.MetadataValue.text(evaluation.model_name), "model_sha256": dg.MetadataValue.text(evaluation.model_sha256),
            **storage.pointer_metadata(evaluation.path, digest),
        },
    )


@dg.asset(group_name="evaluation", deps=[PRIMARY, "evaluation_spec", "base_predictions"], kinds={"python"})
def base_evaluation(context: dg.AssetExecutionContext, storage: ProjectStorage) -> dg.MaterializeResult:
    """answer_correctness@v1 of the base model on the primary eval set (golden-v1 by default), with CI and breakdowns."""
    return run_evaluation(context, storage, "base_predictions", PRIMARY)


@dg.asset(group_name="evaluation", deps=[PRIMARY, "evaluation_spec", "trained_predictions"], kinds={"python"})
def trained_evaluation(context: dg.AssetExecutionContext, storage: ProjectStorage) -> dg.MaterializeResult:
    """answer_correctness@v1 of the fine-tuned model on the primary eval set, with CI and breakdowns."""
    return run_evaluation(context, storage, "trained_predictions", PRIMARY)


def _comparison_table(by_category: dict) -> dg.MetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"category": c, **{k: rounded(v) if isinstance(v, float) else v for k, v in row.items()}})
                 for c, row in by_category.items()],
        schema=dg.TableSchema(columns=[dg.TableColumn("category", "string"), dg.TableColumn("base", "float"),
                                       dg.TableColumn("trained", "float"), dg.TableColumn("delta", "float"), dg.TableColumn("n", "int")]))


@dg.asset(group_name="evaluation", deps=["base_evaluation", "trained_evaluation"], kinds={"python"},
          check_specs=[dg.AssetCheckSpec("trained_beats_base", asset="base_vs_trained",
                                         description="The trained model scores higher than the base on paired items (McNemar p < 0.05).")])
def base_vs_trained(context: dg.AssetExecutionContext, storage: ProjectStorage):
    """Did fine-tuning help? Delta overall and per category, flipped items and the exact McNemar p-value."""
    yield from run_comparison(context, storage, "base_evaluation", "trained_evaluation")


def run_comparison(context: dg.AssetExecutionContext, storage: ProjectStorage, base_key: str, trained_key: str):
    """Shared body of every comparison: the two evaluations come from their pointers."""
    pointers = {"base": storage.upstream(context, base_key), "trained": storage.upstream(context, trained_key)}
    (base, base_payload), (trained, trained_payload) = (read_evaluation(p.resolve(storage.artifacts_root())) for p in pointers.values())
    try:
        result = compare(base_payload, trained_payload)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    out = storage.artifacts_path("comparisons", folder_key(pointers["base"].sha256, pointers["trained"].sha256))
    out.mkdir(parents=True, exist_ok=True)
    payload = {**result.to_dict(),
               "base": {"model": base.model_name, "model_sha256": base.model_sha256, "ci95": list(base.ci95)},
               "trained": {"model": trained.model_name, "model_sha256": trained.model_sha256, "ci95": list(trained.ci95)},
               "evaluator": trained.evaluator, "dataset_sha256": trained.dataset_sha256}
    atomic_write_text(out / COMPARISON_FILE, json.dumps(payload, indent=1) + "\n")
    plot_by_category(result, out / "by_category.png")
    numbers = {"base_score": rounded(result.base_score), "trained_score": rounded(result.trained_score), "delta": rounded(result.delta),
               "p_value": p_value(result.p_value), "fixed": result.fixed, "broken": result.broken, "n": result.n}
    flips = [dg.TableRecord({"kind": kind, **{k: cell(v if v is not None else "(none)", 32) for k, v in e.items()}})
             for kind, group in (("fixed", result.fixed_examples), ("broken", result.broken_examples)) for e in group]
    digest = sha256_file(out / COMPARISON_FILE)
    yield dg.MaterializeResult(
        data_version=dg.DataVersion(digest),
        metadata={
            **{k: (dg.MetadataValue.int(v) if isinstance(v, int) else dg.MetadataValue.float(v)) for k, v in numbers.items()},
            "evaluator": dg.MetadataValue.text(trained.evaluator),
            "dataset_sha256": dg.MetadataValue.text(trained.dataset_sha256),
            "by_category": _comparison_table(result.by_category),
            "flip_examples": dg.MetadataValue.table(records=flips) if flips else dg.MetadataValue.text("no flips"),
            "chart": png_markdown(out / "by_category.png", "score by category"),
            **storage.pointer_metadata(out / COMPARISON_FILE, digest),
        },
    )
    yield dg.AssetCheckResult(check_name="trained_beats_base", asset_key=context.asset_key, passed=result.significant_improvement,
                              severity=dg.AssetCheckSeverity.WARN, description=beats_base_message(result),
                              metadata=numbers | {"significance_level": SIGNIFICANCE_LEVEL})


def beats_base_message(result) -> str:
    """What `trained_beats_base` tested and found, in every state (the UI shows it beside Passed/Failed)."""
    tested = (f"tested: exact McNemar on {result.n} paired items, {result.fixed} fixed / {result.broken} broken, "
              f"p = {p_value(result.p_value)} (needs delta > 0 and p < {SIGNIFICANCE_LEVEL})")
    if result.significant_improvement:
        return f"trained beats base: {result.base_score:.3f} -> {result.trained_score:.3f} (delta {result.delta:+.3f}); {tested}"
    why = "no gain" if result.delta <= 0 else "the gain is not significant"
    return f"trained does not beat base ({why}): {result.base_score:.3f} -> {result.trained_score:.3f} (delta {result.delta:+.3f}); {tested}"
