"""`base_predictions` and `trained_predictions`: greedy answers to golden-v1 (GPU pool); the same pair
for every further declared eval set (`base_predictions__<set>`, `trained_predictions__<set>`)."""

import contextlib

import dagster as dg

from tunix_rt_pipelines.defs.inference.config import InferenceConfig
from tunix_rt_pipelines.defs.metadata import predictions_sample
from tunix_rt_pipelines.lib.datasets.declared import asset_name, declared_datasets, primary_asset
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, load_rows
from tunix_rt_pipelines.lib.evaluation.predictions import PREDICTIONS_FILE, read_predictions
from tunix_rt_pipelines.lib.inference.step import prediction_request, predictions_result
from tunix_rt_pipelines.resources.gpu_steps import GpuStepRunner
from tunix_rt_pipelines.resources.storage import ProjectStorage


def run_predictions(context: dg.AssetExecutionContext, config: InferenceConfig, storage: ProjectStorage, gpu_steps: GpuStepRunner,
                    checkpoint_key: str, dataset_asset: str) -> dg.MaterializeResult:
    """Shared body of every prediction asset: the eval set and the checkpoint come from their pointers, the
    work runs where `gpu_steps` says (this process by default)."""
    dataset, dataset_folder = storage.upstream_dataset_pointer(context, dataset_asset)
    checkpoint = storage.upstream(context, checkpoint_key)
    model_name = str(storage.upstream_metadata(context, checkpoint_key)["model"].value)
    step = prediction_request(checkpoint, model_name, dataset, dataset_folder, config)
    root = storage.artifacts_root()
    result = predictions_result(gpu_steps.run(context, step, root, contextlib.nullcontext), root)
    try:
        items = load_rows(dataset_folder.resolve(root), dataset)  # for the sample shown in the UI
    except DatasetError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return dg.MaterializeResult(
        data_version=dg.DataVersion(result.predictions_sha256),
        metadata={
            "dagster/row_count": dg.MetadataValue.int(result.n),
            "model": dg.MetadataValue.text(model_name),
            "model_sha256": dg.MetadataValue.text(result.model_sha256),
            "dataset_sha256": dg.MetadataValue.text(result.dataset_sha256),
            "items_per_second": dg.MetadataValue.float(round(result.items_per_second, 2)),
            "prompt_format": dg.MetadataValue.json(result.prompt_format),
            "decoder": dg.MetadataValue.text(result.decoder),
            "sample": predictions_sample(items, read_predictions(result.path / PREDICTIONS_FILE).predictions),
            **storage.pointer_metadata(result.path, result.predictions_sha256),
        },
    )


PRIMARY = primary_asset()  # golden_v1 unless tunix_rt.yaml declares another primary eval set


@dg.asset(group_name="inference", pool="gpu", deps=[PRIMARY, "base_checkpoint"], kinds={"pytorch"})
def base_predictions(context: dg.AssetExecutionContext, config: InferenceConfig, storage: ProjectStorage,
                     gpu_steps: GpuStepRunner) -> dg.MaterializeResult:
    """The base model's greedy answers to every item of the primary eval set (golden-v1 by default)."""
    return run_predictions(context, config, storage, gpu_steps, "base_checkpoint", PRIMARY)


@dg.asset(group_name="inference", pool="gpu", deps=[PRIMARY, "trained_checkpoint"], kinds={"pytorch"})
def trained_predictions(context: dg.AssetExecutionContext, config: InferenceConfig, storage: ProjectStorage,
                        gpu_steps: GpuStepRunner) -> dg.MaterializeResult:
    """The fine-tuned model's greedy answers to every item of the primary eval set, same settings as the base."""
    return run_predictions(context, config, storage, gpu_steps, "trained_checkpoint", PRIMARY)


def eval_set_predictions(key: str) -> list[dg.AssetsDefinition]:
    """Base and trained predictions for a further declared eval set, with the primary set's settings."""
    dataset = asset_name(key)

    def make(side: str) -> dg.AssetsDefinition:
        @dg.asset(name=f"{side}_predictions__{dataset}", group_name="inference", pool="gpu", deps=[dataset, f"{side}_checkpoint"],
                  kinds={"pytorch"}, description=f"The {side} model's greedy answers to every {key} item.")
        def predictions(context: dg.AssetExecutionContext, config: InferenceConfig, storage: ProjectStorage,
                        gpu_steps: GpuStepRunner) -> dg.MaterializeResult:
            return run_predictions(context, config, storage, gpu_steps, f"{side}_checkpoint", dataset)

        return predictions

    return [make("base"), make("trained")]


extra_eval_set_predictions = [a for key in declared_datasets().extra_eval_sets for a in eval_set_predictions(key)]
