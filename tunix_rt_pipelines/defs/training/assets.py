"""`trained_checkpoint`: the base model after supervised fine-tuning on the traces (GPU pool)."""

import dagster as dg

from tunix_rt_pipelines.defs.metadata import png_markdown
from tunix_rt_pipelines.defs.models.assets import checkpoint_metadata
from tunix_rt_pipelines.defs.training.config import TrainingConfig
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, load_rows
from tunix_rt_pipelines.lib.models.builtin import is_builtin
from tunix_rt_pipelines.lib.models.loading import ModelLoadError, describe_folder
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


@dg.asset(group_name="training", pool="gpu", deps=["base_checkpoint", "training_traces"], kinds={"pytorch", "safetensors"})
def trained_checkpoint(context: dg.AssetExecutionContext, config: TrainingConfig, storage: ProjectStorage,
                       ray: RayResource) -> dg.MaterializeResult:
    """The base model fine-tuned on the reasoning traces (loss on the completion only), resumable.

    With `num_workers > 1` it trains data-parallel on Ray Train, on the `ray` resource's Ray (a local
    one started for the step when its address is empty); with 1 worker Ray is never imported."""
    from tunix_rt_pipelines.lib.training.ray_train import DataParallelTrainingError, train_data_parallel  # imports ray only when called
    from tunix_rt_pipelines.lib.training.train import train, training_key

    base = storage.upstream(context, "base_checkpoint")
    base_name = str(storage.upstream_metadata(context, "base_checkpoint")["model"].value)
    traces, traces_dir = storage.upstream_dataset(context, "training_traces")
    work_dir = storage.artifacts_path("training", training_key(base.sha256, traces.sha256, config))
    try:
        base_dir, rows, builtin = base.resolve(storage.artifacts_root()), load_rows(traces_dir, traces), is_builtin(base_name)
        if config.num_workers > 1:
            with ray.session() as cluster:
                context.log.info(f"training with {config.num_workers} Ray Train workers on Ray with {cluster.get('CPU', 0):g} CPUs, "
                                 f"{cluster.get('GPU', 0):g} GPUs")
                result = train_data_parallel(base_dir, rows, config, work_dir, builtin_base=builtin)
        else:
            result = train(base_dir, rows, config, work_dir, progress=context.log.info, builtin_base=builtin)
    except (DatasetError, ModelLoadError, ValueError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    except DataParallelTrainingError as exc:  # a Ray Train worker died: retryable, its checkpoints resume it
        raise dg.Failure(description=str(exc)) from None
    if result.resumed_from_step:
        context.log.info(f"resumed from the checkpoint at step {result.resumed_from_step} in {work_dir}")
    checkpoint = describe_folder(f"{base_name}+sft", result.model_dir)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(checkpoint.sha256),
        metadata={
            **checkpoint_metadata(checkpoint, storage),
            "base_sha256": dg.MetadataValue.text(base.sha256),
            "traces_sha256": dg.MetadataValue.text(traces.sha256),
            "steps": dg.MetadataValue.int(result.steps),
            "final_loss": dg.MetadataValue.float(round(result.final_loss, 4)),
            "tokens_per_second": dg.MetadataValue.float(round(result.tokens_per_second, 1)),
            "train_seconds": dg.MetadataValue.float(round(result.wall_seconds, 2)),
            "resumed_from_step": dg.MetadataValue.int(result.resumed_from_step),
            "examples": dg.MetadataValue.int(result.examples),
            "examples_too_long": dg.MetadataValue.int(result.too_long),
            "lora": dg.MetadataValue.bool(result.lora),
            "trainable_parameters": dg.MetadataValue.int(result.trainable_parameters),
            "total_parameters": dg.MetadataValue.int(result.total_parameters),
            "prompt_format": dg.MetadataValue.json(result.prompt_format),
            "host": dg.MetadataValue.json(result.host),
            "training_config": dg.MetadataValue.json(config.model_dump()),
            "loss_curve": png_markdown(work_dir / "loss_curve.png", "training loss"),
        },
    )
