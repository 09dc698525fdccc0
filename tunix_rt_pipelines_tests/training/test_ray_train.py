"""Data-parallel training on Ray Train: the settings (fast), then 2 CPU workers for real (slow): a
kill -9 of the driver mid-training resumes from the last checkpoint. The main job through Dagster:
test_ray_train_job.py."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
from pydantic import ValidationError

from tunix_rt_pipelines.lib.hashing import folder_key
from tunix_rt_pipelines.lib.training.ray_train import ray_train_backend, train_data_parallel, worker_resources
from tunix_rt_pipelines.lib.training.settings import DISTRIBUTED_FIELDS, TrainSettings
from tunix_rt_pipelines.lib.training.train import training_key
from tunix_rt_pipelines_tests.testing_utils import require_ray
from tunix_rt_pipelines_tests.training.test_train import TRACES

RAY_SMALL = {"max_train_samples": 64, "batch_size": 8, "warmup_steps": 2, "logging_steps": 1, "save_steps": 3, "num_workers": 2}


def test_a_batch_that_does_not_split_across_the_workers_is_refused_with_the_fix():
    with pytest.raises(ValidationError, match=r"batch_size=30 cannot be split across num_workers=4: use a batch_size divisible by 4 \(e.g. 28\)"):
        TrainSettings(batch_size=30, num_workers=4)


def test_the_global_batch_is_split_evenly_across_the_workers():
    assert TrainSettings(batch_size=32).per_worker_batch_size == 32
    assert TrainSettings(batch_size=32, num_workers=4).per_worker_batch_size == 8


def test_one_worker_keeps_the_folder_key_it_had_before_the_ray_train_fields():
    settings = TrainSettings()
    before = {k: v for k, v in settings.model_dump().items() if k not in DISTRIBUTED_FIELDS}  # what the key hashed until now
    assert training_key("b", "t", settings) == folder_key("b", "t", before)
    assert training_key("b", "t", settings.model_copy(update={"cpus_per_worker": 4})) == training_key("b", "t", settings)  # unused with 1 worker
    assert training_key("b", "t", TrainSettings(num_workers=2)) != training_key("b", "t", settings)


def test_workers_reserve_their_resources_and_pick_the_backend():
    cpu = TrainSettings(num_workers=2, cpus_per_worker=3)
    assert worker_resources(cpu) == {"CPU": 3.0} and ray_train_backend(cpu) == "gloo"
    gpu = TrainSettings(num_workers=2, gpus_per_worker=1)
    assert worker_resources(gpu) == {"CPU": 1.0, "GPU": 1} and ray_train_backend(gpu) == "nccl"


def test_data_parallel_training_needs_two_workers(tmp_path):
    with pytest.raises(ValueError, match="num_workers >= 2"):
        train_data_parallel(tmp_path, [], TrainSettings(), tmp_path / "work")


DRIVER = """
import sys
from pathlib import Path
from tunix_rt_pipelines.lib.ray_env import import_ray
from tunix_rt_pipelines.lib.training.ray_train import train_data_parallel
from tunix_rt_pipelines.lib.training.settings import TrainSettings
from tunix_rt_pipelines_tests.training.test_train import TRACES
import_ray().init(address="local", num_cpus=2, include_dashboard=False)
train_data_parallel(Path(sys.argv[1]), TRACES, TrainSettings.model_validate_json(sys.argv[2]), Path(sys.argv[3]), builtin_base=True)
"""


def _saved_checkpoints(work) -> list[int]:
    return sorted(int(p.name.split("-")[-1]) for p in (work / "checkpoints").glob("checkpoint-*") if (p / "trainer_state.json").exists())


@pytest.mark.slow
@require_ray
def test_a_killed_driver_resumes_from_the_last_checkpoint(tmp_path, tiny_model_dir):
    from tunix_rt_pipelines.lib.ray_env import import_ray

    settings = TrainSettings(max_steps=400, **RAY_SMALL)  # long enough to be killed in the middle (tiny steps take ~50 ms)
    work = tmp_path / "work"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(tiny_model_dir), settings.model_dump_json(), str(work)],
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not _saved_checkpoints(work) and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _saved_checkpoints(work) and driver.poll() is None, "the driver ended or saved no checkpoint before it could be killed"
        time.sleep(2)  # let the checkpoint's last files land
    finally:
        # kill -9 of the driver and, at once, of the local Ray it started: Ray Train's workers outlive a killed driver
        # for seconds (long enough to finish a tiny run), and a crashed machine takes them all down together
        with contextlib.suppress(ProcessLookupError):
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(30)
    assert not (work / "model").exists()
    ray = import_ray()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = train_data_parallel(tiny_model_dir, TRACES, settings, work, builtin_base=True)
    finally:
        ray.shutdown()
    assert 0 < result.resumed_from_step < 400 and result.steps == 400
    assert (result.model_dir / "model.safetensors").exists() and not (work / "checkpoints").exists()
