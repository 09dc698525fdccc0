"""`InferenceConfig`: the generation settings as Dagster run config (fields in `lib/inference/settings.py`)."""

from __future__ import annotations

import dagster as dg

from tunix_rt_pipelines.lib.inference.settings import GenerationSettings


class InferenceConfig(dg.Config, GenerationSettings):
    """Batched greedy generation: the same settings for the base and the fine-tuned model."""
