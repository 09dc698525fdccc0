"""`trained_checkpoint`: the base model after supervised fine-tuning on the traces (GPU pool)."""

import dagster as dg

from tunix_rt_pipelines.defs.metadata import png_markdown
from tunix_rt_pipelines.defs.models.assets import checkpoint_metadata
from tunix_rt_pipelines.defs.training.config import TrainingConfig
from tunix_rt_pipelines.lib.models.builtin import is_builtin
from tunix_rt_pipelines.lib.models.loading import describe_folder
from tunix_rt_pipelines.lib.training.step import training_request, training_result
from tunix_rt_pipelines.resources.gpu_steps import GpuStepRunner
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


@dg.asset(group_name="training", pool="gpu", deps=["base_checkpoint", "training_traces"], kinds={"pytorch", "safetensors"})
def trained_checkpoint(context: dg.AssetExecutionContext, config: TrainingConfig, storage: ProjectStorage,
                       ray: RayResource, gpu_steps: GpuStepRunner) -> dg.MaterializeResult:
    """The base model fine-tuned on the reasoning traces (loss on the completion only), resumable.

    The training runs where `gpu_steps` says (this process by default, a Ray job on a cluster when
    configured). With `num_workers > 1` it trains data-parallel on Ray Train: in this process on the
    `ray` resource's Ray (a local one started for the step when its address is empty), as a Ray job
    on that job's cluster. With 1 worker in this process Ray is never imported."""
    base = storage.upstream(context, "base_checkpoint")
    base_name = str(storage.upstream_metadata(context, "base_checkpoint")["model"].value)
    traces, traces_folder = storage.upstream_dataset_pointer(context, "training_traces")
    step = training_request(base, traces, traces_folder, config, is_builtin(base_name))
    if config.num_workers > 1:
        context.log.info(f"training with {config.num_workers} Ray Train workers")
    root = storage.artifacts_root()
    result, work_dir = training_result(gpu_steps.run(context, step, root, ray.session), root)
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
