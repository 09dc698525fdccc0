"""`TrainingConfig`: the fine-tuning settings as Dagster run config (fields in `lib/training/settings.py`).

Dagster builds run config only from `dg.Config` classes, so the nested LoRA block is re-declared
as `LoraConfig` (the same fields; a `LoraConfig` is a `LoraSettings`).
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from tunix_rt_pipelines.lib.training.settings import LoraSettings, TrainSettings


class LoraConfig(dg.Config, LoraSettings):
    """LoRA adapters (peft) instead of training every weight."""


class TrainingConfig(dg.Config, TrainSettings):
    """Supervised fine-tuning of the base model on the traces; every field is documented in the Launchpad."""

    lora: LoraConfig = Field(default_factory=LoraConfig, description="LoRA adapters (peft) instead of every weight.")
