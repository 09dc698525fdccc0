"""`GenerationSettings`: how predictions are generated (batched, greedy), as `predict` takes them.

The Dagster run config (`defs/inference/config.py: InferenceConfig`) is this model with
Dagster's config machinery on top; a sweep trial builds it directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tunix_rt_pipelines.lib.models.prompt import PromptStyle


class GenerationSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_new_tokens: int = Field(default=96, ge=1, description="Tokens generated per item at most (golden-v1 answers need ~70 characters).")
    batch_size: int = Field(default=100, ge=1, description="Items per generate() call; left padding, greedy.")
    device: str = Field(default="auto", description="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")
    dtype: str = Field(default="auto", description="auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16 or float16.")
    seed: int = Field(default=0, description="Seed set before generating.")
    max_items: int = Field(default=0, ge=0, description="Only the first N golden items (0 = all); for smoke runs.")
    prompt_format: PromptStyle = Field(default="auto", description="auto: the tokenizer's chat template when it has one, else plain "
                                                                   "`Question:` text; must match how the model was trained.")
    decoder: Literal["auto", "generate"] = Field(default="auto", description="auto: the project's cache-merging batched decoder where "
                                                 "the model's cache allows it (see docs/models.md), else Hugging Face's batched generate; "
                                                 "generate: always Hugging Face's.")
