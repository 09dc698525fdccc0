"""`base_checkpoint`: the base model as a checked, hashed artifact."""

import dagster as dg

from tunix_rt_pipelines.lib.models.loading import Checkpoint, ModelLoadError
from tunix_rt_pipelines.lib.models.verify import verify_model_folder
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


def checkpoint_metadata(checkpoint: Checkpoint, storage: ProjectStorage) -> dict[str, dg.MetadataValue]:
    """What the UI shows for any checkpoint (base, trained), with the pointer downstream steps read."""
    return {
        "model": dg.MetadataValue.text(checkpoint.name),
        "sha256": dg.MetadataValue.text(checkpoint.sha256),
        "architecture": dg.MetadataValue.text(checkpoint.architecture),
        "parameters": dg.MetadataValue.int(checkpoint.parameters),
        "tokenizer_vocab_size": dg.MetadataValue.int(checkpoint.vocab_size),
        **storage.pointer_metadata(checkpoint.path, checkpoint.sha256),
    }


@dg.asset(group_name="models", kinds={"huggingface", "safetensors"})
def base_checkpoint(base_model: BaseModelResource, storage: ProjectStorage) -> dg.MaterializeResult:
    """The base model (builtin:tiny by default, or $TUNIX_RT_BASE_MODEL), checked and hashed."""
    try:
        checkpoint = base_model.checkpoint(storage.artifacts_path("models"))
        notes = verify_model_folder(checkpoint.path)  # weights readable with their shapes, tokenizer loads
    except ModelLoadError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return dg.MaterializeResult(data_version=dg.DataVersion(checkpoint.sha256),
                                metadata={**checkpoint_metadata(checkpoint, storage), "notes": dg.MetadataValue.json(notes)})
