"""What one sweep trial reserves on Ray, and how many trials may run at once so they never oversubscribe.

A one-worker trial trains in its own Tune worker: Tune reserves `cpus_per_trial`/`gpus_per_trial`
for it and that is the whole trial, so Tune's own scheduling already keeps trials within the
cluster (nothing here changes that path).

A multi-worker trial (`training.num_workers > 1`) is a Ray Train run inside the Tune trial, as
Ray documents for Train v2 (docs.ray.io, "Hyperparameter Tuning with Ray Tune"): the Tune trial
is the driver (it reserves `cpus_per_trial`/`gpus_per_trial`, launches the `TorchTrainer`, then
predicts and evaluates), and the trainer asks Ray for a placement group of its own for the
`num_workers` workers. Tune's reservation covers only the driver, so Tune alone would start as
many drivers as the cluster has CPUs for, and their Train runs would then wait for each other's
workers: Ray Train retries a worker group that does not start within
`RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S` (60 s) with no limit (`controller_failure_limit=-1`),
so drivers holding the CPUs their own workers need wait forever (the slow test hung with 2 of 3
CPUs held by two drivers when the cap was switched off). Ray's answer is `max_concurrent_trials`,
computed from the limiting cluster resource and what one trial needs: `trial_concurrency` does
exactly that, and refuses a trial that could never fit.

Pure module: plain numbers in, plain numbers out (the caller reads `ray.cluster_resources()`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from tunix_rt_pipelines.lib.training.settings import TrainSettings

RESOURCES = ("CPU", "GPU")  # what trials ask for; Ray's own names, as in ray.cluster_resources()
_PRECISION = 4  # Ray keeps logical resources to 1e-4, so 0.1 + 0.2 must count as 0.3 here too


class TrialDoesNotFit(ValueError):
    """One trial needs more of a resource than the whole Ray cluster has; the message says what to change."""


@dataclass(frozen=True)
class TrialNeed:
    """Logical resources one trial holds at its peak: its driver plus, when data-parallel, its Ray Train workers."""

    driver: dict[str, float]  # the Tune trial itself (what tune.with_resources reserves)
    workers: dict[str, float]  # the Ray Train run's placement group, all workers together ({} for a one-worker trial)
    num_workers: int = 1

    @property
    def total(self) -> dict[str, float]:
        return {r: round(self.driver.get(r, 0.0) + self.workers.get(r, 0.0), _PRECISION) for r in RESOURCES}


def trial_need(cpus_per_trial: float, gpus_per_trial: float, training: TrainSettings) -> TrialNeed:
    """What one trial reserves: `cpus_per_trial`/`gpus_per_trial` for its driver, and `num_workers` × the
    per-worker CPUs/GPUs for its Ray Train run when `training.num_workers > 1`.

    Args:
        cpus_per_trial: The sweep's per-trial CPUs (the driver's reservation).
        gpus_per_trial: The sweep's per-trial GPUs (the driver's reservation; it predicts on them).
        training: The trials' base training settings (`num_workers`, `cpus_per_worker`, `gpus_per_worker`).

    Returns:
        The trial's driver and worker reservations.
    """
    driver = {"CPU": float(cpus_per_trial), "GPU": float(gpus_per_trial)}
    if training.num_workers < 2:
        return TrialNeed(driver=driver, workers={})
    n = training.num_workers
    return TrialNeed(driver=driver, num_workers=n,
                     workers={"CPU": float(n * training.cpus_per_worker), "GPU": round(n * training.gpus_per_worker, _PRECISION)})


def trial_concurrency(cluster: Mapping[str, float], need: TrialNeed, requested: int) -> int:
    """How many trials may run at once: at most `requested`, and no more than the cluster holds whole trials.

    Args:
        cluster: The Ray cluster's total logical resources (`ray.cluster_resources()`).
        need: One trial's reservation (`trial_need`).
        requested: The sweep's `max_concurrent_trials`.

    Returns:
        `min(requested, floor(cluster[r] / need[r]) for every resource r the trial needs)`.

    Raises:
        TrialDoesNotFit: Not even one trial fits the cluster (the message names the fields to change).
    """
    fits = requested
    for resource, amount in need.total.items():
        if amount <= 0:
            continue
        have = round(float(cluster.get(resource, 0.0)), _PRECISION)
        whole = math.floor(round(have / amount, 6))  # rounded first: 0.3 / 0.1 is 2.9999999999999996 in floats
        if whole < 1:
            raise TrialDoesNotFit(_does_not_fit(resource, need, have))
        fits = min(fits, whole)
    return fits


def _does_not_fit(resource: str, need: TrialNeed, have: float) -> str:
    """One line: what a trial needs of `resource`, what the cluster has, and which fields to change."""
    per_trial, per_worker = ("cpus_per_trial", "cpus_per_worker") if resource == "CPU" else ("gpus_per_trial", "gpus_per_worker")
    driver = need.driver.get(resource, 0.0)
    if need.num_workers > 1:
        each = need.workers.get(resource, 0.0) / need.num_workers
        parts = f"{per_trial}={_num(driver)} for the trial driver + training.num_workers={need.num_workers} × training.{per_worker}={_num(each)}"
        fix = f"lower training.num_workers, training.{per_worker} or {per_trial}, or run on a larger Ray cluster (ray_address)"
    else:
        parts = f"{per_trial}={_num(driver)}"
        fix = f"lower {per_trial}, or run on a larger Ray cluster (ray_address)"
    return (f"one sweep trial needs {_num(need.total[resource])} {resource}s ({parts}) but the Ray cluster has {_num(have)}: "
            f"no trial could ever start; {fix}")


def _num(value: float) -> str:
    return f"{value:g}"
