"""The sweep's best trial on a further declared eval set: predicted and scored the way its trials were.

Trials are scored on the primary eval set only; the registry also keeps a version's score on every
further set (`tunix_rt.yaml`), so the best trial is predicted and evaluated on each of them before
it is promoted. Only the best trial: every further set would otherwise cost one more inference pass
per trial (num_samples x sets), for scores that decide nothing, since the primary set alone ranks
trials and gates promotion.

The same functions and folder keys as the main job's prediction and evaluation assets, under the
sweep's folder:

    <sweep>/eval_sets/predictions/<predictions_key>/   predictions.jsonl, predictions_meta.json
    <sweep>/eval_sets/evaluations/<evaluation_key>/    evaluation.json (per-item results)

The same checkpoint, set and settings always land in the same folders (rewritten atomically), and
another best trial, set or spec in folders of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.datasets.refs import DatasetError, DatasetRef, load_rows
from tunix_rt_pipelines.lib.evaluation.evaluate import Evaluation, evaluate_predictions, evaluation_key
from tunix_rt_pipelines.lib.gpu_step import GpuStep, StepError
from tunix_rt_pipelines.lib.inference.predict import PredictionsResult, predict, predictions_key
from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
from tunix_rt_pipelines.lib.models.devices import check_device
from tunix_rt_pipelines.lib.pointer import Pointer, pointer_to
from tunix_rt_pipelines.lib.sweep.trainable import trial_device

EVAL_SETS_DIR = "eval_sets"


def trial_generation(sweep_config: dict[str, Any]) -> GenerationSettings:
    """The generation settings every trial of a sweep predicted with, from the config its results record.

    Args:
        sweep_config: `SweepConfig.model_dump()` as `sweep_results.json` holds it (its `inference`
            block and `gpus_per_trial`).

    Returns:
        The `inference` block with the trials' device (`trial_device`: the Ray reservation's, never "auto").

    Raises:
        ValueError: The record has no usable `inference` block or `gpus_per_trial`.
    """
    try:
        inference, gpus = dict(sweep_config["inference"]), float(sweep_config["gpus_per_trial"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the sweep's recorded config has no usable inference settings ({exc!r}); re-run tuning_sweep") from None
    # Validated on a neutral device (the recorded one may name a card this machine lacks), then set like a trial's.
    return GenerationSettings.model_validate({**inference, "device": "auto"}).model_copy(update={"device": trial_device(gpus)})


def best_on_eval_set(checkpoint_dir: Path, model_sha256: str, items: list, dataset: DatasetRef, settings: GenerationSettings,
                     spec_sha256: str, sweep_dir: Path, model_name: str = "") -> tuple[PredictionsResult, Evaluation]:
    """Predict eval set `dataset` with the best trial's checkpoint and score it, under the sweep's folder.

    Args:
        checkpoint_dir: The best trial's persisted checkpoint.
        model_sha256: Its `folder_sha256` (recorded in the predictions and the evaluation).
        items: The set's rows (`load_rows`).
        dataset: Which set `items` are.
        settings: The trials' generation settings (`trial_generation`), device included.
        spec_sha256: The locked metric spec hash the trials were scored under.
        sweep_dir: `<artifacts>/tuning/<sweep id>`.
        model_name: Recorded in the predictions' and the evaluation's provenance.

    Returns:
        The predictions and the evaluation (its `path` is the evaluation.json).

    Raises:
        ValueError: The set is empty, or the predictions cannot be scored.
        ModelLoadError: The checkpoint cannot be loaded.
    """
    try:  # a GPU sweep's trials predicted on their card: the best trial is evaluated on one too, or not at all
        check_device(settings.device)
    except ValueError as exc:
        raise ValueError(f"the sweep's trials predicted on {settings.device}, so its best trial is evaluated there too: {exc}") from None
    root = sweep_dir / EVAL_SETS_DIR
    out = root / "predictions" / predictions_key(model_sha256, dataset.sha256, settings, settings.device)
    predictions = predict(checkpoint_dir, model_sha256, items, dataset.sha256, settings, out, model_name=model_name)
    scored = root / "evaluations" / evaluation_key(predictions.predictions_sha256, dataset.sha256, spec_sha256)
    return predictions, evaluate_predictions(predictions.path, items, dataset, spec_sha256, scored)


STEP_FUNCTION = "tunix_rt_pipelines.lib.sweep.eval_sets:best_on_eval_set_step"


def best_on_eval_set_request(checkpoint: Pointer, dataset: DatasetRef, dataset_folder: Pointer, settings: GenerationSettings,
                             spec_sha256: str, sweep_folder: Pointer, model_name: str) -> GpuStep:
    """`best_on_eval_set` as a GPU step (`lib/gpu_step.py`): it runs where the gpu pool's work runs."""
    return GpuStep(function=STEP_FUNCTION, request={
        "checkpoint": checkpoint.model_dump(), "dataset": dataset.model_dump(), "dataset_folder": dataset_folder.model_dump(),
        "settings": settings.model_dump(), "spec_sha256": spec_sha256, "sweep_folder": sweep_folder.model_dump(), "model_name": model_name})


def best_on_eval_set_step(request: dict[str, Any], root: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """The step function: `best_on_eval_set` on pointers under `root`; returns the two folders' pointers (relative paths).

    Raises:
        StepError: Bad data, an unloadable checkpoint, or a device this machine lacks (not retried).
    """
    from tunix_rt_pipelines.lib.models.loading import ModelLoadError

    checkpoint, dataset = Pointer(**request["checkpoint"]), DatasetRef(**request["dataset"])
    try:
        settings = GenerationSettings.model_validate({**request["settings"], "device": "auto"}).model_copy(
            update={"device": request["settings"]["device"]})  # the trials' device, checked by best_on_eval_set itself
        items = load_rows(Pointer(**request["dataset_folder"]).resolve(root), dataset)
        progress(f"predicting {dataset.key} with the sweep's best trial ({request['model_name']})")
        predictions, evaluation = best_on_eval_set(checkpoint.resolve(root), checkpoint.sha256, items, dataset, settings,
                                                   request["spec_sha256"], Pointer(**request["sweep_folder"]).resolve(root),
                                                   model_name=request["model_name"])
    except (DatasetError, ModelLoadError, ValueError) as exc:
        raise StepError(str(exc)) from None
    return {"predictions": pointer_to(predictions.path, root, predictions.predictions_sha256).model_dump(),
            "decoder": predictions.decoder, "evaluation": pointer_to(evaluation.path, root, "").path}
