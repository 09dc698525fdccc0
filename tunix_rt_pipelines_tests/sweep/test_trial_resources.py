"""Trial reservation contract: a multi-worker trial needs its driver plus num_workers × the per-worker
resources; the trials running at once are capped by the whole trials the cluster holds (never above
what the sweep asked for); a trial that could never fit is refused in one line naming the fields to change;
the plan Tune runs carries the cap, and a one-worker sweep's plan is never touched."""

import dataclasses
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.sweep.trial_resources import TrialDoesNotFit, trial_concurrency, trial_need
from tunix_rt_pipelines.lib.sweep.tuner import SweepPlan, reserve_trials
from tunix_rt_pipelines.lib.training.settings import TrainSettings


def _training(workers: int = 1, cpus: int = 1, gpus: float = 0.0) -> TrainSettings:
    return TrainSettings(num_workers=workers, cpus_per_worker=cpus, gpus_per_worker=gpus, batch_size=24)


@pytest.mark.parametrize(
    ("cpus_per_trial", "gpus_per_trial", "training", "total", "workers"),
    [
        (1.0, 0.0, _training(), {"CPU": 1.0, "GPU": 0.0}, {}),                                          # one worker: the trial alone
        (2.0, 0.0, _training(cpus=8), {"CPU": 2.0, "GPU": 0.0}, {}),                                    # cpus_per_worker unused with one worker
        (1.0, 0.0, _training(workers=2), {"CPU": 3.0, "GPU": 0.0}, {"CPU": 2.0, "GPU": 0.0}),           # driver 1 + 2 workers × 1 CPU
        (0.5, 0.0, _training(workers=3, cpus=2), {"CPU": 6.5, "GPU": 0.0}, {"CPU": 6.0, "GPU": 0.0}),   # fractional driver
        (1.0, 0.0, _training(workers=4, gpus=1), {"CPU": 5.0, "GPU": 4.0}, {"CPU": 4.0, "GPU": 4.0}),   # GPU workers, CPU driver
        (1.0, 0.5, _training(workers=2, gpus=0.5), {"CPU": 3.0, "GPU": 1.5}, {"CPU": 2.0, "GPU": 1.0}),  # driver predicts on half a card
        (0.1, 0.0, _training(workers=3, gpus=0.1), {"CPU": 3.1, "GPU": 0.3}, {"CPU": 3.0, "GPU": 0.3}),  # no float drift (3 × 0.1)
    ],
)
def test_a_trial_needs_its_driver_plus_its_workers(cpus_per_trial, gpus_per_trial, training, total, workers):
    need = trial_need(cpus_per_trial, gpus_per_trial, training)
    assert need.total == total and need.workers == workers
    assert need.driver == {"CPU": cpus_per_trial, "GPU": gpus_per_trial}  # what tune.with_resources reserves


@pytest.mark.parametrize(
    ("cluster", "cpus_per_trial", "gpus_per_trial", "training", "requested", "expected"),
    [
        ({"CPU": 3.0}, 1.0, 0.0, _training(workers=2), 2, 1),                 # 2 trials would be 6 CPUs: one at a time
        ({"CPU": 6.0}, 1.0, 0.0, _training(workers=2), 2, 2),                 # exactly two whole trials
        ({"CPU": 6.0}, 1.0, 0.0, _training(workers=2), 1, 1),                 # never more than asked for
        ({"CPU": 8.9}, 1.0, 0.0, _training(workers=2), 8, 2),                 # partial trials do not count
        ({"CPU": 128.0, "GPU": 8.0}, 1.0, 0.0, _training(workers=4, gpus=1), 8, 2),  # Ray's doc example: GPUs limit, 8 // 4
        ({"CPU": 16.0, "GPU": 2.0}, 1.0, 0.5, _training(workers=3, gpus=0.5), 4, 1),  # 2.0 GPUs per trial (driver 0.5 + 1.5)
        ({"CPU": 4.5, "GPU": 0.0}, 0.25, 0.0, _training(workers=2), 9, 2),   # 2.25 per trial: 4.5 holds exactly two
        ({"CPU": 0.9, "node:127.0.0.1": 1.0}, 0.3, 0.0, _training(), 5, 3),   # one-worker arithmetic: 0.9 / 0.3 is 3, not 2.9999
    ],
)
def test_trials_at_once_are_whole_trials_that_fit(cluster, cpus_per_trial, gpus_per_trial, training, requested, expected):
    assert trial_concurrency(cluster, trial_need(cpus_per_trial, gpus_per_trial, training), requested) == expected


@pytest.mark.parametrize(
    ("cluster", "cpus_per_trial", "gpus_per_trial", "training", "message"),
    [
        # the slow test's trial on a 2-CPU Ray: 2 workers fill it, the driver does not fit beside them
        ({"CPU": 2.0}, 1.0, 0.0, _training(workers=2),
         "one sweep trial needs 3 CPUs (cpus_per_trial=1 for the trial driver + training.num_workers=2 × training.cpus_per_worker=1) "
         "but the Ray cluster has 2: no trial could ever start; lower training.num_workers, training.cpus_per_worker or "
         "cpus_per_trial, or run on a larger Ray cluster (ray_address)"),
        # GPU workers on a CPU-only cluster (no "GPU" key at all)
        ({"CPU": 64.0}, 1.0, 0.0, _training(workers=2, gpus=1),
         "one sweep trial needs 2 GPUs (gpus_per_trial=0 for the trial driver + training.num_workers=2 × training.gpus_per_worker=1) "
         "but the Ray cluster has 0: no trial could ever start; lower training.num_workers, training.gpus_per_worker or "
         "gpus_per_trial, or run on a larger Ray cluster (ray_address)"),
        # a one-worker trial names only its own field
        ({"CPU": 2.0}, 4.0, 0.0, _training(),
         "one sweep trial needs 4 CPUs (cpus_per_trial=4) but the Ray cluster has 2: no trial could ever start; "
         "lower cpus_per_trial, or run on a larger Ray cluster (ray_address)"),
    ],
)
def test_a_trial_that_can_never_fit_is_refused_in_one_line(cluster, cpus_per_trial, gpus_per_trial, training, message):
    with pytest.raises(TrialDoesNotFit) as refused:
        trial_concurrency(cluster, trial_need(cpus_per_trial, gpus_per_trial, training), requested=4)
    assert str(refused.value) == message and "\n" not in message


def _plan(trial_inputs, workers: int, max_concurrent: int) -> SweepPlan:
    training = trial_inputs.training.model_copy(update={"num_workers": workers, "cpus_per_worker": 1})
    return SweepPlan(sweep_dir=Path("unused"), space={}, inputs=dataclasses.replace(trial_inputs, training=training), num_samples=4,
                     seed=0, metric="answer_correctness", mode="max", max_concurrent_trials=max_concurrent)


@pytest.mark.parametrize(
    ("workers", "cluster", "max_concurrent", "expected"),
    [
        (2, {"CPU": 3.0}, 4, 1),   # the plan Tune runs holds one whole trial (driver 1 + 2 workers)
        (2, {"CPU": 12.0}, 3, 3),  # room for 4: what was asked for
        (1, {"CPU": 0.5}, 4, 4),   # one-worker sweep: untouched, Tune's own reservation already covers the trial
    ],
)
def test_the_plan_tune_runs_carries_the_cap(trial_inputs, workers, cluster, max_concurrent, expected):
    plan = _plan(trial_inputs, workers, max_concurrent)
    reserved, need = reserve_trials(plan, cluster)
    assert reserved.max_concurrent_trials == expected
    assert (need is None) == (workers == 1)
    assert dataclasses.replace(reserved, max_concurrent_trials=max_concurrent) == plan  # nothing else changes
