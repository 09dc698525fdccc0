"""`base_checkpoint`: the base model as a checked, hashed artifact."""


import dagster as dg

from tunix_rt_pipelines.lib.models.loading import CheckpointRef, ModelLoadError
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


def checkpoint_metadata(ref: CheckpointRef) -> dict[str, dg.MetadataValue]:
    """What the UI shows for any checkpoint (base, trained, registered)."""
    return {
        "model": dg.MetadataValue.text(ref.name),
        "checkpoint_path": dg.MetadataValue.path(ref.path),
        "sha256": dg.MetadataValue.text(ref.sha256),
        "architecture": dg.MetadataValue.text(ref.architecture),
        "parameters": dg.MetadataValue.int(ref.parameters),
        "tokenizer_vocab_size": dg.MetadataValue.int(ref.vocab_size),
    }


@dg.asset(group_name="models", code_version="base-checkpoint-v1", kinds={"huggingface", "safetensors"})
def base_checkpoint(base_model: BaseModelResource, storage: ProjectStorage) -> dg.MaterializeResult:
    """The base model (builtin:tiny by default, or $TUNIX_RT_BASE_MODEL), checked and hashed."""
    try:
        ref = base_model.checkpoint(storage.artifacts_path("models"))
    except ModelLoadError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return dg.MaterializeResult(value=ref, data_version=dg.DataVersion(ref.sha256), metadata=checkpoint_metadata(ref))
