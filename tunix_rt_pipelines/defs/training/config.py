"""`TrainingConfig`: the fine-tuning settings as Dagster run config (fields in `lib/training/settings.py`)."""

from __future__ import annotations

import dagster as dg

from tunix_rt_pipelines.lib.training.settings import TrainSettings


class TrainingConfig(dg.Config, TrainSettings):
    """Supervised fine-tuning of the base model on the traces; every field is documented in the Launchpad."""
