"""`BaseModelResource`: which base model the graph fine-tunes and compares against."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from tunix_rt_pipelines.lib.models.loading import Checkpoint, describe_folder
from tunix_rt_pipelines.lib.models.source import BASE_MODEL_ENV, DEFAULT_BASE_MODEL, resolve_model_folder


class BaseModelResource(dg.ConfigurableResource):
    """The base model: a Hugging Face hub id, a local save_pretrained folder, or builtin:tiny."""

    name_or_path: str = Field(default="", description=f"builtin:tiny, builtin:tiny-gpt2, a hub id or a local folder. "
                                                      f"Empty: ${BASE_MODEL_ENV}, else {DEFAULT_BASE_MODEL}.")
    revision: str = Field(default="", description="Hub revision (branch, tag or commit) for hub ids; empty = the default branch.")
    builtin_seed: int = Field(default=0, description="Initialisation seed of built-in models.")
    allow_download: bool = Field(default=True, description="Download hub models that are not cached (HF_HUB_OFFLINE=1 forbids it too).")

    def resolved_name(self) -> str:
        """The setting in force: this field, else the environment variable, else builtin:tiny."""
        # Read at execution time, not import time, so a changed variable needs no code reload.
        return self.name_or_path or os.environ.get(BASE_MODEL_ENV, "") or DEFAULT_BASE_MODEL

    def checkpoint(self, models_dir: Path) -> Checkpoint:
        """Resolve, check and describe the base model (creating a built-in one if needed)."""
        name = self.resolved_name()
        folder = resolve_model_folder(name, models_dir, revision=self.revision or None,
                                      allow_download=self.allow_download, builtin_seed=self.builtin_seed)
        return describe_folder(name, folder)
