"""`GenerationSettings`: how predictions are generated (batched, greedy), as `predict` takes them.

The Dagster run config (`defs/inference/config.py: InferenceConfig`) is this model with
Dagster's config machinery on top; a sweep trial builds it directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tunix_rt_pipelines.lib.models.devices import DEVICE_HELP, check_device
from tunix_rt_pipelines.lib.models.prompt import PromptStyle

MAX_SEED = 2**32 - 1  # torch.manual_seed accepts more, but the training side cannot: one range for both


class GenerationSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_new_tokens: int = Field(default=160, ge=1, le=32_768, description="Tokens generated per item at most (a worked "
                                "golden-v1 answer in the steps of reasoning-traces-v2 is up to ~140 characters); 1..32768.")
    batch_size: int = Field(default=100, ge=1, le=65536, description="Items per generate() call; left padding, greedy. 1..65536.")
    device: str = Field(default="auto", description=DEVICE_HELP + "; checked against this machine when the config is built.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto", description="auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16 or float16.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Seed set before generating; 0..2**32-1.")
    max_items: int = Field(default=0, ge=0, le=100_000_000, description="Only the first N golden items (0 = all); for smoke runs.")
    prompt_format: PromptStyle = Field(default="auto", description="auto: the tokenizer's chat template when it has one, else plain "
                                                                   "`Question:` text; must match how the model was trained.")
    decoder: Literal["auto", "generate"] = Field(default="auto", description="auto: the project's cache-merging batched decoder where "
                                                 "the model's cache allows it (see docs/models.md), else Hugging Face's batched generate; "
                                                 "generate: always Hugging Face's.")

    @field_validator("device")
    @classmethod
    def _device_on_this_machine(cls, value: str) -> str:
        return check_device(value)
