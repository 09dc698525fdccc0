"""Data-parallel fine-tuning on Ray Train: `num_workers` DDP workers, each running `train.py`'s own `Trainer`.

`train_data_parallel` runs a `ray.train.torch.TorchTrainer` on the Ray the caller has connected
(`RayResource.session()` in the Dagster step, the Tune trial's own Ray in a sweep). Every worker
builds the same `Trainer` as the in-process path (`train.build_trainer`), wrapped by Ray's
`prepare_trainer`; Ray's `TorchConfig` sets up the process group (gloo on CPU, nccl on GPU) and the
Trainer finds it and wraps the model in DDP. `batch_size` stays the global batch: each worker takes
`batch_size / num_workers` rows per forward pass.

Checkpoints are the Trainer's own, in the same `work_dir/checkpoints` as the in-process path
(rank 0 writes model, optimizer and scheduler; each rank its RNG state), so a run killed with -9
resumes from the last one when it is rerun. `work_dir` must therefore be storage every worker
sees: a local folder on one machine, shared storage (NFS, a mounted bucket) on a cluster. Rank 0
saves the model into `work_dir/model` exactly as `train()` does, so everything downstream is unchanged.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.training.settings import TrainSettings
from tunix_rt_pipelines.lib.training.train import TrainingResult

RESULT_FILE = "ray_train_result.json"  # rank 0's TrainingResult, read back by the driver


class DataParallelTrainingError(RuntimeError):
    """A Ray Train worker failed; the message names the worker's own error (its checkpoints let a rerun resume)."""


def ray_train_backend(settings: TrainSettings) -> str:
    """torch.distributed backend: nccl between GPUs, gloo between CPU processes."""
    return "nccl" if settings.gpus_per_worker > 0 else "gloo"


def worker_resources(settings: TrainSettings) -> dict[str, float]:
    """What Ray reserves for one training worker."""
    return {"CPU": float(settings.cpus_per_worker), **({"GPU": settings.gpus_per_worker} if settings.gpus_per_worker > 0 else {})}


def train_data_parallel(base_dir: Path, traces: Sequence, settings: TrainSettings, work_dir: Path,
                        builtin_base: bool = False, callbacks: Sequence = ()) -> TrainingResult:
    """Fine-tune with `settings.num_workers` Ray Train workers on the connected Ray; same result and folder layout as `train()`.

    `callbacks` are extra `TrainerCallback`s for every worker (they travel pickled; tests use one to simulate a crash).
    """
    if settings.num_workers < 2:
        raise ValueError(f"train_data_parallel needs num_workers >= 2 (got {settings.num_workers}); train() runs one worker in-process")
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / RESULT_FILE).unlink(missing_ok=True)
    loop_config = {"base_dir": str(base_dir), "traces": list(traces), "settings": settings.model_dump(),
                   "work_dir": str(work_dir), "builtin_base": builtin_base, "callbacks": list(callbacks)}
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config=loop_config,
        scaling_config=ScalingConfig(num_workers=settings.num_workers, use_gpu=settings.gpus_per_worker > 0,
                                     resources_per_worker=worker_resources(settings)),
        torch_config=TorchConfig(backend=ray_train_backend(settings)),
        # Ray's own run records live in the work folder too (no checkpoints are reported to it: the Trainer's are the resumable state)
        run_config=RunConfig(name="ray_train", storage_path=str(work_dir.resolve() / "ray")),
    )
    try:
        trainer.fit()
    except Exception as exc:  # ray.train.TrainingFailedError wraps the worker's error: say what failed, not Ray's traceback
        raise DataParallelTrainingError(f"data-parallel training ({settings.num_workers} workers) failed: {_root_cause(exc)}") from None
    result_file = work_dir / RESULT_FILE
    if not result_file.exists():
        raise DataParallelTrainingError(f"data-parallel training finished but rank 0 wrote no {RESULT_FILE} in {work_dir}")
    shutil.rmtree(work_dir / "ray", ignore_errors=True)
    return _result_from_json(json.loads(result_file.read_text()))


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: the shared `Trainer`, prepared for Ray, trained; rank 0 saves the model and the result."""
    import ray.train
    import torch
    from ray.train.huggingface.transformers import prepare_trainer

    from tunix_rt_pipelines.lib.training.train import build_trainer, finish, run_trainer

    settings = TrainSettings.model_validate(config["settings"])
    torch.set_num_threads(settings.cpus_per_worker)
    device = str(ray.train.torch.get_device()) if settings.gpus_per_worker > 0 else "cpu"
    work_dir = Path(config["work_dir"])
    prepared = build_trainer(Path(config["base_dir"]), config["traces"], settings, work_dir, callbacks=config["callbacks"],
                             builtin_base=config["builtin_base"], device=device)
    prepared.trainer = prepare_trainer(prepared.trainer)
    wall, tokens_before = run_trainer(prepared)
    if ray.train.get_context().get_world_rank() == 0:
        result = finish(prepared, settings, work_dir, wall, tokens_before)
        (work_dir / RESULT_FILE).write_text(json.dumps({**asdict(result), "model_dir": str(result.model_dir)}, indent=1) + "\n")


def _result_from_json(data: dict[str, Any]) -> TrainingResult:
    return TrainingResult(**{**data, "model_dir": Path(data["model_dir"])})


def _root_cause(exc: BaseException) -> str:
    """The innermost error's one-line description (Ray nests the worker's exception)."""
    seen = exc
    while True:
        inner = getattr(seen, "cause", None) or seen.__cause__
        if inner is None or inner is seen:
            break
        seen = inner
    failures = getattr(seen, "worker_failures", None)  # ray.train.v2 WorkerGroupError: {rank: exception}
    if failures:
        seen = next(iter(failures.values()))
    return f"{type(seen).__name__}: {str(seen).strip().splitlines()[-1] if str(seen).strip() else ''}"
