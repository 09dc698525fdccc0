"""`trained_checkpoint`'s work as a GPU step (`lib/gpu_step.py`): JSON in, artifacts under the root, JSON out.

The request names the base checkpoint and the traces by pointer (relative to the artifact root) and
carries the training settings; the result is `TrainingResult` with its model folder relative to the
root. The work folder is derived here, from content hashes and settings only, so wherever the step
runs it finds the checkpoints an interrupted attempt left (resume after kill -9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.datasets.refs import DatasetError, DatasetRef, load_rows
from tunix_rt_pipelines.lib.gpu_step import GpuStep, StepError
from tunix_rt_pipelines.lib.pointer import Pointer, pointer_to
from tunix_rt_pipelines.lib.training.settings import TrainSettings
from tunix_rt_pipelines.lib.training.train import TrainingResult

FUNCTION = "tunix_rt_pipelines.lib.training.step:training_step"


def training_request(base: Pointer, traces: DatasetRef, traces_folder: Pointer, settings: TrainSettings, builtin_base: bool) -> GpuStep:
    """The GPU step that fine-tunes `base` on `traces` (a data-parallel one needs a connected Ray)."""
    request = {"base": base.model_dump(), "traces": traces.model_dump(), "traces_folder": traces_folder.model_dump(),
               "settings": settings.model_dump(), "builtin_base": builtin_base}
    return GpuStep(function=FUNCTION, request=request, uses_ray=settings.num_workers > 1)


def work_folder(root: Path, base_sha256: str, traces_sha256: str, settings: TrainSettings) -> Path:
    from tunix_rt_pipelines.lib.training.train import training_key

    return Path(root) / "training" / training_key(base_sha256, traces_sha256, settings)


def training_step(request: dict[str, Any], root: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """Fine-tune as `request` says, on this machine (one process) or on the connected Ray (num_workers > 1).

    Raises:
        StepError: Bad traces, an unloadable base, refused settings (not retried), or a Ray Train
            worker that died (retried: its checkpoints resume the rerun).
    """
    from tunix_rt_pipelines.lib.models.loading import ModelLoadError
    from tunix_rt_pipelines.lib.training.ray_train import DataParallelTrainingError, train_data_parallel
    from tunix_rt_pipelines.lib.training.train import train

    base, traces_folder = Pointer(**request["base"]), Pointer(**request["traces_folder"])
    traces = DatasetRef(**request["traces"])
    try:
        settings = TrainSettings.model_validate(request["settings"])  # validated again where it runs: the device must exist here
        work_dir = work_folder(root, base.sha256, traces.sha256, settings)
        rows = load_rows(traces_folder.resolve(root), traces)
        if settings.num_workers > 1:
            result = train_data_parallel(base.resolve(root), rows, settings, work_dir, builtin_base=request["builtin_base"])
        else:
            result = train(base.resolve(root), rows, settings, work_dir, progress=progress, builtin_base=request["builtin_base"])
    except (DatasetError, ModelLoadError, ValueError) as exc:
        raise StepError(str(exc)) from None
    except DataParallelTrainingError as exc:
        raise StepError(str(exc), retryable=True) from None
    return {**asdict(result), "model_dir": pointer_to(result.model_dir, root, "").path, "work_dir": pointer_to(work_dir, root, "").path}


def training_result(payload: dict[str, Any], root: Path) -> tuple[TrainingResult, Path]:
    """The `TrainingResult` a training step returned, and its work folder, as paths under `root` (this side's mount)."""
    fields = {k: v for k, v in payload.items() if k != "work_dir"}
    model_dir = Pointer(path=fields.pop("model_dir"), sha256="").resolve(root)
    return TrainingResult(model_dir=model_dir, **fields), Pointer(path=payload["work_dir"], sha256="").resolve(root)
