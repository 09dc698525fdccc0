"""`sweep_best_evaluation__<set>`: the sweep's best trial on every further declared eval set (GPU pool).

`tuning_sweep` scores its trials on the primary eval set only. A version the sweep promotes must
carry every declared set's score, like a main-job promotion, so each further set (`tunix_rt.yaml`)
gets one asset that predicts the best trial's checkpoint on it, with the settings the trials used,
and scores it with the locked evaluator (`lib/sweep/eval_sets.py`). `sweep_registered_model` reads
their pointers and hands the evaluations to the registry, whose `eval_sets` guard checks each one.

One asset per set, beside `tuning_sweep` rather than inside it: a changed further set then makes
only its own evaluation (and the promotion) stale, never the sweep, whose trials did not read it.
With no further set declared there is no such asset and the sweep's graph is unchanged.
"""

import contextlib
import json

import dagster as dg

from tunix_rt_pipelines.defs.evaluation.lock_check import spec_sha256_of
from tunix_rt_pipelines.defs.metadata import rounded
from tunix_rt_pipelines.lib.datasets.declared import asset_name, declared_datasets
from tunix_rt_pipelines.lib.evaluation.evaluate import read_evaluation
from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.lib.pointer import Pointer
from tunix_rt_pipelines.lib.sweep.eval_sets import best_on_eval_set_request, trial_generation
from tunix_rt_pipelines.resources.gpu_steps import GpuStepRunner
from tunix_rt_pipelines.resources.storage import ProjectStorage

PREFIX = "sweep_best_evaluation__"


def further_sweep_evaluations() -> list[str]:
    """`sweep_best_evaluation__<set>` for every further declared eval set, in declared order (none by default)."""
    return [f"{PREFIX}{asset_name(key)}" for key in declared_datasets().extra_eval_sets]


def run_best_evaluation(context: dg.AssetExecutionContext, storage: ProjectStorage, gpu_steps: GpuStepRunner,
                        dataset_asset: str) -> dg.MaterializeResult:
    """Predict and score eval set `dataset_asset` with the checkpoint, settings and evaluator `tuning_sweep` recorded."""
    root = storage.artifacts_root()
    sweep = {k: v.value for k, v in storage.upstream_metadata(context, "tuning_sweep").items()}
    results_path = storage.upstream(context, "tuning_sweep").resolve(root)  # sweep_results.json, in the sweep's folder
    payload = json.loads(results_path.read_text())
    spec_sha256 = spec_sha256_of(context, storage)
    if payload["inputs"]["spec_sha256"] != spec_sha256:
        raise dg.Failure(description=f"sweep {sweep['sweep_id']} was scored under spec {payload['inputs']['spec_sha256'][:12]}, the "
                                     f"evaluation spec is now {spec_sha256[:12]}: re-run tuning_sweep first", allow_retries=False)
    checkpoint = Pointer(**sweep["best_checkpoint"])
    dataset, dataset_folder = storage.upstream_dataset_pointer(context, dataset_asset)
    try:
        settings = trial_generation(payload["config"])
    except ValueError as exc:
        raise dg.Failure(description=f"best trial {sweep['best_trial']} on {dataset.key}: {exc}", allow_retries=False) from None
    step = best_on_eval_set_request(checkpoint, dataset, dataset_folder, settings, spec_sha256,
                                    storage.pointer(results_path.parent, ""),
                                    model_name=f"tuning_sweep/{sweep['sweep_id']}/{sweep['best_trial']}")
    out = gpu_steps.run(context, step, root, contextlib.nullcontext)  # where the gpu pool's work runs (a Ray job on a cluster)
    evaluation, _ = read_evaluation(Pointer(path=out["evaluation"], sha256="").resolve(root))
    predictions = Pointer(**out["predictions"])
    digest = sha256_file(evaluation.path)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(digest),
        metadata={
            "sweep_id": dg.MetadataValue.text(str(sweep["sweep_id"])), "best_trial": dg.MetadataValue.text(str(sweep["best_trial"])),
            "score": dg.MetadataValue.float(rounded(evaluation.score)), "n": dg.MetadataValue.int(evaluation.n),
            "correct": dg.MetadataValue.int(evaluation.correct),
            "ci95_low": dg.MetadataValue.float(rounded(evaluation.ci95[0])), "ci95_high": dg.MetadataValue.float(rounded(evaluation.ci95[1])),
            "evaluator": dg.MetadataValue.text(evaluation.evaluator), "spec_sha256": dg.MetadataValue.text(evaluation.spec_sha256),
            "dataset": dg.MetadataValue.text(evaluation.dataset_key), "dataset_sha256": dg.MetadataValue.text(evaluation.dataset_sha256),
            "model_sha256": dg.MetadataValue.text(evaluation.model_sha256),
            "decoder": dg.MetadataValue.text(out["decoder"]),
            # the predictions the score was computed from (the evaluation.json itself is the pointer below)
            "predictions": dg.MetadataValue.json(predictions.model_dump()),
            **storage.pointer_metadata(evaluation.path, digest),
        },
    )


def sweep_best_evaluation(key: str) -> dg.AssetsDefinition:
    """`sweep_best_evaluation__<set>` for further eval set `key`."""
    dataset = asset_name(key)

    # deps on evaluation_spec: its blocking evaluation_lock check runs first in sweep_job, as for every evaluation.
    @dg.asset(name=f"{PREFIX}{dataset}", group_name="sweep", pool="gpu", kinds={"pytorch"}, deps=["tuning_sweep", "evaluation_spec", dataset],
              description=f"answer_correctness@v1 of the sweep's best trial on {key}, predicted with the trials' settings "
                          "(recorded on its registry version; the primary set decides).")
    def best_evaluation(context: dg.AssetExecutionContext, storage: ProjectStorage, gpu_steps: GpuStepRunner) -> dg.MaterializeResult:
        return run_best_evaluation(context, storage, gpu_steps, dataset)

    return best_evaluation


extra_sweep_evaluations = [sweep_best_evaluation(key) for key in declared_datasets().extra_eval_sets]
