"""`trained_checkpoint`: the base model after supervised fine-tuning on the traces (GPU pool)."""


from pathlib import Path

import dagster as dg

from tunix_rt_pipelines.defs.metadata import png_markdown
from tunix_rt_pipelines.defs.models.assets import checkpoint_metadata
from tunix_rt_pipelines.defs.training.config import TrainingConfig
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, DatasetRef, load_rows
from tunix_rt_pipelines.lib.models.loading import CheckpointRef, ModelLoadError, describe_folder
from tunix_rt_pipelines.resources.storage import ProjectStorage


@dg.asset(group_name="training", pool="gpu", code_version="sft-v1", kinds={"pytorch", "safetensors"})
def trained_checkpoint(context: dg.AssetExecutionContext, config: TrainingConfig, base_checkpoint: CheckpointRef,
                       training_traces: DatasetRef, storage: ProjectStorage) -> dg.MaterializeResult:
    """The base model fine-tuned on the reasoning traces (loss on the completion only), resumable."""
    from tunix_rt_pipelines.lib.training.train import train, training_key

    work_dir = storage.artifacts_path("training", training_key(base_checkpoint.sha256, training_traces.sha256, config))
    try:
        result = train(Path(base_checkpoint.path), load_rows(training_traces), config, work_dir, progress=context.log.info)
    except (DatasetError, ModelLoadError, ValueError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    if result.resumed_from_step:
        context.log.info(f"resumed from the checkpoint at step {result.resumed_from_step} in {work_dir}")
    ref = describe_folder(f"{base_checkpoint.name}+sft", result.model_dir)
    return dg.MaterializeResult(
        value=ref,
        data_version=dg.DataVersion(ref.sha256),
        metadata={
            **checkpoint_metadata(ref),
            "base_sha256": dg.MetadataValue.text(base_checkpoint.sha256),
            "traces_sha256": dg.MetadataValue.text(training_traces.sha256),
            "steps": dg.MetadataValue.int(result.steps),
            "final_loss": dg.MetadataValue.float(result.final_loss),
            "tokens_per_second": dg.MetadataValue.float(round(result.tokens_per_second, 1)),
            "train_seconds": dg.MetadataValue.float(round(result.wall_seconds, 2)),
            "resumed_from_step": dg.MetadataValue.int(result.resumed_from_step),
            "examples": dg.MetadataValue.int(result.examples),
            "examples_too_long": dg.MetadataValue.int(result.too_long),
            "training_config": dg.MetadataValue.json(config.model_dump()),
            "loss_curve": png_markdown(work_dir / "loss_curve.png", "training loss"),
        },
    )
