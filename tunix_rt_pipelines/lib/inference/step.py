"""The prediction assets' work as a GPU step (`lib/gpu_step.py`): JSON in, predictions under the root, JSON out.

The output folder is keyed by the device *where the step runs* ("auto" is bfloat16 on CUDA and
float32 on a CPU), so it is derived here, not by the Dagster process, which may have no GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.datasets.refs import DatasetError, DatasetRef, load_rows
from tunix_rt_pipelines.lib.gpu_step import GpuStep, StepError
from tunix_rt_pipelines.lib.inference.predict import PredictionsResult
from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
from tunix_rt_pipelines.lib.pointer import Pointer, pointer_to

FUNCTION = "tunix_rt_pipelines.lib.inference.step:prediction_step"


def prediction_request(checkpoint: Pointer, model_name: str, dataset: DatasetRef, dataset_folder: Pointer,
                       settings: GenerationSettings) -> GpuStep:
    """The GPU step that answers every item of `dataset` with the checkpoint `checkpoint` points at."""
    return GpuStep(function=FUNCTION, request={"checkpoint": checkpoint.model_dump(), "model_name": model_name,
                                               "dataset": dataset.model_dump(), "dataset_folder": dataset_folder.model_dump(),
                                               "settings": settings.model_dump()})


def prediction_step(request: dict[str, Any], root: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """Predict as `request` says, into `<root>/predictions/<key>/`.

    Raises:
        StepError: Bad data, an unloadable checkpoint or refused settings (not retried).
    """
    from tunix_rt_pipelines.lib.inference.predict import predict, predictions_key
    from tunix_rt_pipelines.lib.models.loading import ModelLoadError, resolve_device

    checkpoint, folder, dataset = Pointer(**request["checkpoint"]), Pointer(**request["dataset_folder"]), DatasetRef(**request["dataset"])
    try:
        settings = GenerationSettings.model_validate(request["settings"])  # validated where it runs: the device must exist here
        out_dir = Path(root) / "predictions" / predictions_key(checkpoint.sha256, dataset.sha256, settings, resolve_device(settings.device))
        items = load_rows(folder.resolve(root), dataset)
        progress(f"predicting {min(len(items), settings.max_items or len(items))} {dataset.key} items with {request['model_name']}")
        result = predict(checkpoint.resolve(root), checkpoint.sha256, items, dataset.sha256, settings, out_dir,
                         model_name=request["model_name"])
    except (DatasetError, ModelLoadError, ValueError) as exc:
        raise StepError(str(exc)) from None
    return {**asdict(result), "path": pointer_to(result.path, root, "").path}


def predictions_result(payload: dict[str, Any], root: Path) -> PredictionsResult:
    """The `PredictionsResult` a prediction step returned, its folder under `root` (this side's mount)."""
    return PredictionsResult(**{**payload, "path": Pointer(path=payload["path"], sha256="").resolve(root)})
