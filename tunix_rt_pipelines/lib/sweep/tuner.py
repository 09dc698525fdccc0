"""Running a sweep with Ray Tune: a new experiment, or the same one resumed after an interruption.

A sweep lives in one folder, `<artifacts>/tuning/<sweep id>/`:

    sweep.json              what the sweep computes (inputs and settings); a different sweep may not reuse the id
    experiment/             Ray Tune's experiment: state, one folder per trial with its checkpoint_000000/
    trials/<trial id>/      the trial's own work (see trainable.py)
    sweep_results.json, metric_by_trial.png    written by the asset when the sweep is complete

When `experiment/` holds a Tune experiment, the sweep is restored with `Tuner.restore`:
finished trials keep their results and are not run again; interrupted ones start again
(their training resumes from its last checkpoint); failed ones stay failed unless
`retry_failed` is set. Pure module: Ray is imported inside the functions, after the caller
has connected (see `resources/ray_cluster.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.files import atomic_write_text
from tunix_rt_pipelines.lib.hashing import folder_key
from tunix_rt_pipelines.lib.ray_env import import_ray
from tunix_rt_pipelines.lib.sweep.results import FAILED, SUCCEEDED, UNFINISHED, TrialRecord
from tunix_rt_pipelines.lib.sweep.sampling import plan_trials
from tunix_rt_pipelines.lib.sweep.search_space import to_tune_domains
from tunix_rt_pipelines.lib.sweep.trainable import TrialInputs, count_attempts, run_trial
from tunix_rt_pipelines.lib.sweep.trial_resources import TrialNeed, trial_concurrency, trial_need

EXPERIMENT = "experiment"
IDENTITY_FILE = "sweep.json"


class SweepConflict(Exception):
    """The sweep folder already holds a different sweep."""


class SweepInterrupted(Exception):
    """Tune returned before every trial finished (interrupted); rerunning the same sweep resumes it."""


@dataclass(frozen=True)
class SweepPlan:
    sweep_dir: Path
    space: Mapping[str, Any]  # parsed search space (search_space.Dimension by name)
    inputs: TrialInputs
    num_samples: int
    seed: int
    metric: str
    mode: str
    max_concurrent_trials: int = 1
    retry_failed: bool = False
    reuse_workers: bool = True  # run trials one after another in the same Ray worker process


@dataclass(frozen=True)
class SweepRun:
    records: list[TrialRecord]
    resumed: bool  # restored from an earlier, unfinished or finished, run of the same sweep


def sweep_key(identity: Mapping[str, Any]) -> str:
    """The sweep's folder name: the same inputs and settings, the same folder (so a rerun resumes)."""
    return folder_key(identity)


def claim_sweep_dir(sweep_dir: Path, identity: Mapping[str, Any]) -> None:
    """Record what this folder's sweep computes, or check that it is the same sweep as before.

    Raises:
        SweepConflict: An explicit sweep id reused for other inputs or settings.
    """
    path = sweep_dir / IDENTITY_FILE
    canonical = json.loads(json.dumps(identity, sort_keys=True, default=str))
    if path.exists():
        stored = json.loads(path.read_text())
        if stored != canonical:
            changed = sorted(k for k in set(stored) | set(canonical) if stored.get(k) != canonical.get(k))
            raise SweepConflict(f"{sweep_dir} already holds a different sweep (differs in: {', '.join(changed)}); "
                                "choose another sweep_id, or leave it empty to derive one")
        return
    atomic_write_text(path, json.dumps(canonical, indent=1, sort_keys=True) + "\n")


def _trial_dirname(trial) -> str:
    return f"trial_{trial.trial_id}"


def _error_summary(error: BaseException | None) -> str | None:
    """The original exception in one line (Ray wraps it in RayTaskError with the whole traceback)."""
    if error is None:
        return None
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"[:500]
    lines = [line for line in str(error).splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:500]


def trial_record(result: Any, work_root: Path, metric: str) -> TrialRecord:
    """A Ray Tune `Result` as a `TrialRecord` (a restored failed trial has no config: read params.json)."""
    trial_dir = Path(result.path)
    trial_id = trial_dir.name.removeprefix("trial_")
    params = result.config
    if params is None and (trial_dir / "params.json").exists():
        params = json.loads((trial_dir / "params.json").read_text())
    metrics = dict(result.metrics or {})
    common = {"trial_id": trial_id, "index": int(trial_id.rsplit("_", 1)[-1]), "params": dict(params or {}),
              "attempts": count_attempts(work_root / trial_id), "metrics": metrics}
    if result.error is not None:
        return TrialRecord(status=FAILED, error=_error_summary(result.error), **common)
    if metric not in metrics:
        return TrialRecord(status=UNFINISHED, **common)
    return TrialRecord(
        status=SUCCEEDED, score=float(metrics[metric]), ci95=(float(metrics["ci95_low"]), float(metrics["ci95_high"])),
        n=int(metrics["n"]), final_loss=float(metrics["final_loss"]), duration_s=float(metrics.get("time_total_s") or 0.0),
        checkpoint_path=result.checkpoint.path if result.checkpoint else None, model_sha256=metrics.get("model_sha256"),
        evaluation_path=metrics.get("evaluation_path"), **common,
    )


def reserve_trials(plan: SweepPlan, cluster: Mapping[str, float]) -> tuple[SweepPlan, TrialNeed | None]:
    """The plan with `max_concurrent_trials` capped so multi-worker trials (drivers and Ray Train workers)
    all fit `cluster` at once (trial_resources.py); a one-worker sweep's plan is returned unchanged.

    Returns:
        `(plan, need)`: the plan to run and one trial's reservation (None for one-worker trials).

    Raises:
        TrialDoesNotFit: Not even one trial fits the cluster.
    """
    inputs = plan.inputs
    if inputs.training.num_workers < 2:
        return plan, None
    need = trial_need(inputs.cpus_per_trial, inputs.gpus_per_trial, inputs.training)
    return replace(plan, max_concurrent_trials=trial_concurrency(cluster, need, plan.max_concurrent_trials)), need


def build_tuner(plan: SweepPlan):
    """A new Tuner for the plan, or the plan's experiment restored when its folder holds one.

    Returns:
        `(tuner, resumed)`.
    """
    import_ray()
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    trainable = tune.with_resources(tune.with_parameters(run_trial, inputs=plan.inputs),
                                    {"cpu": plan.inputs.cpus_per_trial, "gpu": plan.inputs.gpus_per_trial})
    path = plan.sweep_dir / EXPERIMENT
    if tune.Tuner.can_restore(path):
        return tune.Tuner.restore(str(path), trainable=trainable, resume_unfinished=True, resume_errored=False,
                                  restart_errored=plan.retry_failed), True
    # Every trial's configuration is planned here, all different (sampling.py); Tune runs exactly these.
    points, _ = plan_trials(plan.space, plan.num_samples, plan.seed)
    tune_config = tune.TuneConfig(
        metric=plan.metric, mode=plan.mode, num_samples=plan.num_samples,
        # The concurrency cap goes to the generator: Ray 2.60 ignores
        # TuneConfig.max_concurrent_trials (with a warning) when search_alg is a BasicVariantGenerator.
        search_alg=BasicVariantGenerator(points_to_evaluate=points, random_state=plan.seed, max_concurrent=plan.max_concurrent_trials),
        trial_dirname_creator=_trial_dirname,
        # A fresh worker per trial re-imports torch and transformers (~10 s on 2 cores): most of
        # Ray's per-trial cost (benchmarks/sweep_concurrency.py). Trials share nothing else:
        # each loads its model from disk and seeds itself.
        reuse_actors=plan.reuse_workers,
    )
    run_config = tune.RunConfig(
        name=EXPERIMENT, storage_path=str(plan.sweep_dir), verbose=1,
        # Ray's max_failures is retries of one crashed trial; a deterministic error would only
        # repeat. The sweep's own max_failures (trials allowed to fail) is applied to the results.
        failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
    )
    return tune.Tuner(trainable, param_space=to_tune_domains(plan.space), tune_config=tune_config, run_config=run_config), False


def run_sweep(plan: SweepPlan) -> SweepRun:
    """Run (or resume) the sweep to the end and return one record per trial, in creation order.

    Needs a Ray connection (`ray.init`) already open.

    Raises:
        SweepInterrupted: Tune stopped before all `num_samples` trials finished.
    """
    tuner, resumed = build_tuner(plan)
    grid = tuner.fit()
    work_root = plan.inputs.work_root
    records = sorted((trial_record(r, work_root, plan.metric) for r in grid), key=lambda r: r.index)
    finished = sum(r.status in (SUCCEEDED, FAILED) for r in records)
    if finished < plan.num_samples:
        raise SweepInterrupted(f"the sweep stopped with {finished} of {plan.num_samples} trials finished; "
                               f"run the same sweep again to resume it from {plan.sweep_dir / EXPERIMENT}")
    return SweepRun(records=records, resumed=resumed)
