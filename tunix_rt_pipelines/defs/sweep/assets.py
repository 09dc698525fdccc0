"""`tuning_sweep`: a Ray Tune hyperparameter sweep over the real train -> predict -> evaluate loop.

It stands behind the evaluation lock: it refuses to start unless the blocking `evaluation_lock`
check passed in the same run (`sweep_job` includes it), or `force=True`, which the results
record. The sweep lives in `<artifacts>/tuning/<sweep id>/` and resumes from there.
"""

from pathlib import Path

import dagster as dg

from tunix_rt_pipelines.defs.evaluation.lock_check import lock_passed_in_run, spec_sha256_of
from tunix_rt_pipelines.defs.metadata import cell, png_markdown
from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.lib.datasets.declared import primary_asset
from tunix_rt_pipelines.lib.datasets.refs import DatasetRef
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.evaluation.spec import metric_id
from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.lib.models.builtin import is_builtin
from tunix_rt_pipelines.lib.models.loading import ModelLoadError, describe_folder
from tunix_rt_pipelines.lib.pointer import Pointer
from tunix_rt_pipelines.lib.sweep.results import (
    FAILED,
    PLOT_FILE,
    SUCCEEDED,
    TrialRecord,
    best_trial,
    failure_message,
    results_payload,
    table_rows,
    write_results,
)
from tunix_rt_pipelines.lib.sweep.sampling import plan_trials
from tunix_rt_pipelines.lib.sweep.search_space import integer_keys
from tunix_rt_pipelines.lib.sweep.trainable import TrialInputs
from tunix_rt_pipelines.lib.sweep.trial_resources import TrialDoesNotFit
from tunix_rt_pipelines.lib.sweep.tuner import (
    SweepConflict,
    SweepInterrupted,
    SweepPlan,
    claim_sweep_dir,
    reserve_trials,
    run_sweep,
    sweep_key,
)
from tunix_rt_pipelines.lib.training.settings import TrainSettings
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage

_COLUMNS = {"trial": "string", "status": "string", "params": "string", "answer_correctness": "float", "ci95_low": "float",
            "ci95_high": "float", "final_loss": "float", "duration_s": "float", "attempts": "int", "error": "string"}


def lock_gate(context: dg.AssetExecutionContext, force: bool) -> dict:
    """Refuse to sweep unless the evaluation lock passed in this run; with `force`, go on and say so.

    `evaluation_lock` is blocking and `tuning_sweep` depends on its asset, so a lock that failed in
    this run stops the run before this step: here, "not passed" means "did not run in this run".
    """
    if lock_passed_in_run(context.instance, context.run.run_id):
        return {"checked_in_run": True, "passed": True, "forced": False}
    if not force:
        raise dg.Failure(description="refusing to sweep: the blocking evaluation_lock check did not run in this run. Launch sweep_job "
                                     "(it runs the check first), or set force=True to sweep anyway (recorded in the results).",
                         allow_retries=False)
    live = lock.check_lock()
    context.log.warning(f"force=True: sweeping without a passing evaluation_lock in this run (live lock: {live.message})")
    return {"checked_in_run": False, "passed": False, "forced": True, "live_lock": live.message}


def _metadata(storage: ProjectStorage, best: TrialRecord, best_sha256: str, payload: dict, records: list[TrialRecord], sweep_dir: Path,
              results_path: Path, resumed: bool, cluster: dict, forced: bool) -> dict[str, dg.MetadataValue]:
    schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in _COLUMNS.items()])
    best_checkpoint = storage.pointer(Path(best.checkpoint_path), best_sha256)
    best_evaluation = storage.pointer(Path(best.evaluation_path), sha256_file(Path(best.evaluation_path)))
    return {
        "sweep_id": dg.MetadataValue.text(payload["sweep_id"]),
        "sweep_dir": dg.MetadataValue.path(str(sweep_dir)),
        "results": dg.MetadataValue.path(str(results_path)),
        "best_trial": dg.MetadataValue.text(best.trial_id),
        "best_params": dg.MetadataValue.json(best.params),
        "best_score": dg.MetadataValue.float(best.score),
        "best_ci95_low": dg.MetadataValue.float(best.ci95[0]),
        "best_ci95_high": dg.MetadataValue.float(best.ci95[1]),
        # The pointers sweep_registered_model reads: the best trial's checkpoint and its evaluation.
        "best_checkpoint": dg.MetadataValue.json(best_checkpoint.model_dump()),
        "best_evaluation": dg.MetadataValue.json(best_evaluation.model_dump()),
        "best_checkpoint_sha256": dg.MetadataValue.text(best_sha256),
        "evaluator": dg.MetadataValue.text(payload["evaluator"]),
        "trials_succeeded": dg.MetadataValue.int(payload["counts"][SUCCEEDED]),
        "trials_failed": dg.MetadataValue.int(payload["counts"][FAILED]),
        "trials": dg.MetadataValue.table(records=[dg.TableRecord({**r, "error": cell(r["error"], 60)}) for r in table_rows(records)],
                                          schema=schema),  # the whole error is in trials.csv
        "metric_by_trial": png_markdown(sweep_dir / PLOT_FILE, "answer_correctness by trial"),
        "resumed": dg.MetadataValue.bool(resumed),
        "forced": dg.MetadataValue.bool(forced),
        "ray_cluster": dg.MetadataValue.json({k: v for k, v in cluster.items() if not k.startswith("node:")}),
        **storage.pointer_metadata(results_path, sha256_file(results_path)),
    }


def sweep_identity(config: SweepConfig, spec_sha256: str, golden: DatasetRef, traces: DatasetRef, base: Pointer) -> dict:
    """What the sweep computes: its inputs' content hashes and the settings that change results."""
    return {"base_sha256": base.sha256, "traces_sha256": traces.sha256, "golden_sha256": golden.sha256,
            "spec_sha256": spec_sha256, "config": config.identity()}


def build_plan(config: SweepConfig, sweep_dir: Path, inputs: dict) -> SweepPlan:
    trial_inputs = TrialInputs(**inputs, training=TrainSettings.model_validate(config.training.model_dump()),
                               inference=config.inference, work_root=sweep_dir / "trials", cpus_per_trial=config.cpus_per_trial,
                               gpus_per_trial=config.gpus_per_trial, int_keys=integer_keys(TrainSettings.model_fields))
    return SweepPlan(sweep_dir=sweep_dir, space=config.dimensions(), inputs=trial_inputs, num_samples=config.num_samples, seed=config.seed,
                     metric=config.metric, mode=config.mode, max_concurrent_trials=config.max_concurrent_trials,
                     retry_failed=config.retry_failed_trials, reuse_workers=config.reuse_workers)


PRIMARY = primary_asset()  # the primary eval set's asset (golden_v1 unless tunix_rt.yaml declares another): trials are scored on it


@dg.asset(group_name="sweep", pool="gpu", kinds={"ray", "pytorch"},
          deps=["evaluation_spec", PRIMARY, "training_traces", "base_checkpoint"])
def tuning_sweep(context: dg.AssetExecutionContext, config: SweepConfig, ray: RayResource, storage: ProjectStorage) -> dg.MaterializeResult:
    """A seeded Ray Tune sweep of training hyperparameters, each trial scored with answer_correctness on the primary eval set."""
    lock_state = lock_gate(context, config.force)
    spec_sha256 = spec_sha256_of(context, storage)
    (golden, golden_dir), (traces, traces_dir) = storage.upstream_dataset(context, PRIMARY), storage.upstream_dataset(context, "training_traces")
    base = storage.upstream(context, "base_checkpoint")
    identity = sweep_identity(config, spec_sha256, golden, traces, base)
    sweep_id = config.sweep_id or sweep_key(identity)
    sweep_dir = storage.artifacts_path("tuning", sweep_id)
    base_name = str(storage.upstream_metadata(context, "base_checkpoint")["model"].value)
    plan = build_plan(config, sweep_dir, {"base_dir": base.resolve(storage.artifacts_root()), "traces": traces, "traces_dir": traces_dir,
                                          "golden": golden, "golden_dir": golden_dir, "spec_sha256": spec_sha256,
                                          "builtin_base": is_builtin(base_name)})
    try:
        claim_sweep_dir(sweep_dir, identity)
        with ray.session(config.ray_address) as cluster:
            context.log.info(f"sweep {sweep_id} in {sweep_dir} on Ray {cluster}")
            plan, need = reserve_trials(plan, cluster)
            if need is not None:  # multi-worker trials: say what one holds and how many run at once
                context.log.info(f"each trial reserves {need.total} (driver {need.driver} + {need.num_workers} Ray Train workers "
                                 f"{need.workers}); {plan.max_concurrent_trials} at once (asked for {config.max_concurrent_trials})")
            run = run_sweep(plan)
    except (SweepConflict, SweepInterrupted, TrialDoesNotFit) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None

    best = best_trial(run.records)
    payload = results_payload(run.records, best, sweep_id=sweep_id, evaluator=metric_id(), evaluation_lock=lock_state,
                              forced=config.force, inputs={k: v for k, v in identity.items() if k != "config"},
                              config=config.model_dump(), resumed=run.resumed)
    results_path = write_results(sweep_dir, payload, run.records)
    problem = failure_message(run.records, config.max_failures)
    if problem:
        raise dg.Failure(description=f"sweep {sweep_id} failed: {problem}\nresults: {results_path}", allow_retries=False)
    try:  # the checkpoint Ray kept must be the model the trial scored
        sha = describe_folder("sweep-best", Path(best.checkpoint_path)).sha256
    except ModelLoadError as exc:
        raise dg.Failure(description=f"best trial {best.trial_id}: {exc}", allow_retries=False) from None
    if sha != best.model_sha256:
        raise dg.Failure(description=f"best trial {best.trial_id}: checkpoint hashes to {sha[:12]}, the trial scored {best.model_sha256[:12]}")
    return dg.MaterializeResult(data_version=dg.DataVersion(sha256_file(results_path)),
                                metadata={**_metadata(storage, best, sha, payload, run.records, sweep_dir, results_path, run.resumed,
                                                      cluster, config.force),
                                          # how the trials were chosen (all different): grid, a sample of it, or random draws
                                          "trial_plan": dg.MetadataValue.text(plan_trials(plan.space, plan.num_samples, plan.seed)[1])})
