"""`TrainSettings`: supervised fine-tuning knobs, documented, with defaults that meet the bar.

The defaults train `builtin:tiny` from scratch on 2 CPU cores in a few minutes to a significant
gain on golden-v1 (see docs/benchmarks.md). Smoke tests shrink `max_steps` and
`max_train_samples`. `train()` takes this model; the Dagster run config
(`defs/training/config.py: TrainingConfig`) is the same fields, and a sweep trial builds it directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tunix_rt_pipelines.lib.models.prompt import PromptStyle

Switch = Literal["auto", "on", "off"]


class LoraSettings(BaseModel):
    """Low-rank adapters (peft) instead of training every weight. The registered checkpoint is the
    merged model, so every consumer loads it as a plain Hugging Face model; the adapter is kept beside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: Switch = Field(default="auto", description="auto: on for a model you bring, off for the built-in ones "
                                                        "(they start from random weights, so every weight must learn).")
    r: int = Field(default=16, ge=1, le=1024, description="Rank of the adapter matrices.")
    alpha: int = Field(default=32, ge=1, description="LoRA scaling numerator (the update is scaled by alpha / r).")
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0, description="Dropout on the adapter's input.")
    target_modules: list[str] = Field(default_factory=lambda: ["all-linear"],
                                      description='Modules to adapt: ["all-linear"] (every linear layer but the output head) or names '
                                                  'such as ["q_proj", "v_proj"].')

    def active(self, builtin_base: bool) -> bool:
        """Whether LoRA is used for this base model."""
        return self.enabled == "on" or (self.enabled == "auto" and not builtin_base)


class TrainSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- optimisation
    learning_rate: float = Field(default=3e-3, gt=0, description="Peak AdamW learning rate (after warmup).")
    max_steps: int = Field(default=1500, ge=0, description="Optimizer steps to train for; 0 = use num_train_epochs.")
    num_train_epochs: float = Field(default=1.0, gt=0, description="Epochs over the traces when max_steps is 0.")
    batch_size: int = Field(default=32, ge=1, description="Sequences per device per forward pass.")
    gradient_accumulation_steps: int = Field(default=1, ge=1, description="Forward passes per optimizer step.")
    warmup_steps: int = Field(default=50, ge=0, description="Linear warmup steps before the cosine decay.")
    lr_scheduler: str = Field(default="cosine", description="transformers scheduler name: cosine, linear, constant_with_warmup, ...")
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping norm.")
    # --- data
    max_seq_length: int = Field(default=160, ge=8, description="Longest prompt+completion in tokens; longer traces are left out and counted.")
    max_train_samples: int = Field(default=0, ge=0, description="Use only the first N traces (0 = all); for smoke runs.")
    prompt_format: PromptStyle = Field(default="auto", description="auto: the tokenizer's chat template when it has one, else plain "
                                                                   "`Question:`/`Answer:` text; chat or plain force one.")
    # --- what is trained
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA adapters (peft) instead of every weight.")
    # --- reproducibility and checkpoints
    seed: int = Field(default=0, description="Seed for initialisation of data order, dropout and everything random.")
    save_steps: int = Field(default=250, ge=1, description="Save a resumable checkpoint every N steps; a crashed run resumes from the last one.")
    logging_steps: int = Field(default=25, ge=1, description="Record the training loss every N steps.")
    # --- hardware
    device: str = Field(default="auto", description="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")
    dtype: str = Field(default="float32", description="Precision of the weights being trained: float32 or bfloat16. The saved "
                                                      "checkpoint keeps the base model's own dtype either way.")
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = Field(default="auto", description="Autocast for the forward pass: "
                                                                   "auto = bf16 on a CUDA card that supports it, else none (CPU).")
    gradient_checkpointing: Switch = Field(default="auto", description="Recompute activations in the backward pass to save memory: "
                                                                       "auto = on with CUDA, off on CPU (where it only costs time).")
    num_threads: int = Field(default=0, ge=0, description="torch CPU threads (0 = torch's default: one per core).")
