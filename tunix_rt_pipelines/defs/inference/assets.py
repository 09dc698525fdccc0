"""`base_predictions` and `trained_predictions`: greedy answers to golden-v1 (GPU pool)."""


from pathlib import Path

import dagster as dg

from tunix_rt_pipelines.defs.inference.config import InferenceConfig
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, DatasetRef, load_rows
from tunix_rt_pipelines.lib.inference.predict import predict, predictions_key
from tunix_rt_pipelines.lib.models.loading import CheckpointRef, ModelLoadError, resolve_device  # torch imported on call only
from tunix_rt_pipelines.resources.storage import ProjectStorage


def run_predictions(config: InferenceConfig, dataset: DatasetRef, checkpoint: CheckpointRef, storage: ProjectStorage) -> dg.MaterializeResult:
    """Shared body of both prediction assets."""
    out_dir = storage.artifacts_path("predictions", predictions_key(checkpoint.sha256, dataset.sha256, config, resolve_device(config.device)))
    try:
        ref = predict(Path(checkpoint.path), checkpoint.sha256, load_rows(dataset), dataset.sha256, config, out_dir,
                      model_name=checkpoint.name)
    except (DatasetError, ModelLoadError, ValueError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return dg.MaterializeResult(
        value=ref,
        data_version=dg.DataVersion(ref.predictions_sha256),
        metadata={
            "predictions_path": dg.MetadataValue.path(ref.path),
            "dagster/row_count": dg.MetadataValue.int(ref.n),
            "model": dg.MetadataValue.text(checkpoint.name),
            "model_sha256": dg.MetadataValue.text(ref.model_sha256),
            "dataset_sha256": dg.MetadataValue.text(ref.dataset_sha256),
            "items_per_second": dg.MetadataValue.float(round(ref.items_per_second, 2)),
            "predictions_sha256": dg.MetadataValue.text(ref.predictions_sha256),
        },
    )


@dg.asset(group_name="inference", pool="gpu", code_version="predictions-v1", kinds={"pytorch"})
def base_predictions(config: InferenceConfig, golden_v1: DatasetRef, base_checkpoint: CheckpointRef, storage: ProjectStorage) -> dg.MaterializeResult:
    """The base model's greedy answers to every golden-v1 item."""
    return run_predictions(config, golden_v1, base_checkpoint, storage)


@dg.asset(group_name="inference", pool="gpu", code_version="predictions-v1", kinds={"pytorch"})
def trained_predictions(config: InferenceConfig, golden_v1: DatasetRef, trained_checkpoint: CheckpointRef, storage: ProjectStorage) -> dg.MaterializeResult:
    """The fine-tuned model's greedy answers to every golden-v1 item, same settings as the base."""
    return run_predictions(config, golden_v1, trained_checkpoint, storage)
