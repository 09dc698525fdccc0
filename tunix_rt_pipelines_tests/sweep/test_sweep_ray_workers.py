"""Multi-worker sweep trials with real Ray (slow): every trial of sweep_job is a Ray Train run of 2 CPU
workers launched by the trial; on a cluster that holds one such trial (driver + 2 workers = 3 CPUs),
the two trials asked to run at once succeed one after the other, never training at the same time;
on a cluster that cannot hold even one trial the step fails with one line naming what to change,
before any trial starts.

Ray's logical CPUs are not the machine's cores: the 3-CPU Ray runs on 2 cores, where the trial
driver waits while its 2 workers train. A 2-CPU Ray cannot hold one trial (the 2 workers fill it
and the driver reserves 1 CPU beside them), which is the refused case."""

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tunix_rt_pipelines_tests.sweep.conftest import SMOKE_TRAINING
from tunix_rt_pipelines_tests.sweep.test_sweep_ray import resources, run_sweep_job, smoke_config, step_failure, sweep_metadata
from tunix_rt_pipelines_tests.testing_utils import require_ray

pytestmark = [pytest.mark.slow, require_ray]

TWO_WORKERS = {**SMOKE_TRAINING, "num_workers": 2, "cpus_per_worker": 1}  # batch_size 8: 4 rows per worker
# Trials whose drivers hold the CPUs their own workers wait for never end (Ray Train retries a worker
# group that cannot start without limit), so a broken cap would hang, not fail: stop the sweep after this.
WATCHDOG_S = 600


@contextlib.contextmanager
def watchdog(seconds: float):
    """SIGUSR1 to this process after `seconds`: Ray Tune's own handler stops the sweep gracefully and the
    step fails with 'the sweep stopped with N of M trials finished', so a hang fails the test."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGUSR1))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _last_result(trial_dir: Path) -> dict:
    """What the trial reported to Tune (result.json holds one JSON line per report)."""
    return json.loads((trial_dir / "result.json").read_text().splitlines()[-1])


def test_two_worker_trials_run_one_at_a_time_on_a_cluster_that_holds_one(tmp_path, tiny_model_dir, instance):
    config = smoke_config(training=TWO_WORKERS, max_concurrent_trials=2)  # 2 asked for; 2 × 3 CPUs do not fit 3
    start = time.perf_counter()
    with watchdog(WATCHDOG_S):
        result = run_sweep_job(instance, resources(tmp_path, tiny_model_dir, num_cpus=3), config)
    print(f"2 trials x 2 Ray Train workers: sweep_job {time.perf_counter() - start:.1f}s")
    assert result.success, step_failure(result)
    md = sweep_metadata(result)
    assert md["ray_cluster"]["CPU"] == 3.0
    sweep_dir = Path(md["sweep_dir"])
    payload = json.loads(Path(md["results"]).read_text())
    assert [t["status"] for t in payload["trials"]] == ["succeeded", "succeeded"]

    windows = []
    for trial in payload["trials"]:
        # what rank 0 of the trial's Ray Train run recorded, and what the registered checkpoint says it was trained with
        stats = json.loads((sweep_dir / "trials" / trial["trial_id"] / "training" / "stats.json").read_text())
        checkpoint = Path(trial["checkpoint_path"])
        trained_with = json.loads((checkpoint / "training_config.json").read_text())
        reported = _last_result(checkpoint.parent)
        assert stats["num_workers"] == trained_with["num_workers"] == reported["train_workers"] == 2
        windows.append((reported["train_started_at"], reported["train_ended_at"], trial["trial_id"]))
        print(f"trial {trial['trial_id']}: training {reported['train_started_at']:.1f} -> {reported['train_ended_at']:.1f} "
              f"({reported['train_ended_at'] - reported['train_started_at']:.1f}s, worker wall {stats['wall_seconds']:.1f}s), "
              f"trial {reported['trial_seconds']:.1f}s")
    (first_start, first_end, first), (second_start, second_end, second) = sorted(windows)
    assert first_end <= second_start, f"trials {first} and {second} trained at the same time: {windows}"


def test_a_trial_that_cannot_fit_the_cluster_is_refused_before_any_trial(tmp_path, tiny_model_dir, instance):
    result = run_sweep_job(instance, resources(tmp_path, tiny_model_dir, num_cpus=2), smoke_config(training=TWO_WORKERS))
    assert not result.success
    message = step_failure(result)
    assert ("one sweep trial needs 3 CPUs (cpus_per_trial=1 for the trial driver + training.num_workers=2 × "
                               "training.cpus_per_worker=1) but the Ray cluster has 2: no trial could ever start; lower "
                               "training.num_workers, training.cpus_per_worker or cpus_per_trial, or run on a larger Ray cluster (ray_address)") in message
    assert not any((tmp_path / "artifacts" / "tuning").glob("*/experiment"))  # Tune never started
