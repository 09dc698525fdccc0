"""`TrainSettings`: supervised fine-tuning knobs, documented, with defaults that meet the bar.

The defaults train `builtin:tiny` from scratch on 2 CPU cores in a few minutes to a significant
gain on golden-v1 (see docs/benchmarks.md). Smoke tests shrink `max_steps` and
`max_train_samples`. `train()` takes this model; the Dagster run config
(`defs/training/config.py: TrainingConfig`) is the same fields, and a sweep trial builds it directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tunix_rt_pipelines.lib.models.devices import DEVICE_HELP, check_device
from tunix_rt_pipelines.lib.models.prompt import PromptStyle

Switch = Literal["auto", "on", "off"]
# transformers schedulers that need no extra arguments (cosine_with_min_lr, reduce_lr_on_plateau and
# warmup_stable_decay do, and would fail at the first step).
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial", "inverse_sqrt"]
MAX_SEED = 2**32 - 1  # numpy (seeded by transformers' set_seed) refuses anything larger
DISTRIBUTED_FIELDS = ("num_workers", "cpus_per_worker", "gpus_per_worker")  # Ray Train settings, see TrainSettings.identity


def packing_active(switch: Switch, builtin_base: bool) -> bool:
    return switch == "on" or (switch == "auto" and builtin_base)


class LoraSettings(BaseModel):
    """Low-rank adapters (peft) instead of training every weight. The registered checkpoint is the
    merged model, so every consumer loads it as a plain Hugging Face model; the adapter is kept beside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: Switch = Field(default="auto", description="auto: on for a model you bring, off for the built-in ones "
                                                        "(they start from random weights, so every weight must learn).")
    r: int = Field(default=16, ge=1, le=1024, description="Rank of the adapter matrices (at most 1024).")
    alpha: int = Field(default=32, ge=1, le=65536, description="LoRA scaling numerator (the update is scaled by alpha / r; at most 65536).")
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0, allow_inf_nan=False, description="Dropout on the adapter's input.")
    target_modules: list[str] = Field(default_factory=lambda: ["all-linear"],
                                      description='Modules to adapt: ["all-linear"] (every linear layer but the output head) or names '
                                                  'such as ["q_proj", "v_proj"].')

    def active(self, builtin_base: bool) -> bool:
        """Whether LoRA is used for this base model."""
        return self.enabled == "on" or (self.enabled == "auto" and not builtin_base)


class TrainSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- optimisation
    # Upper bounds are where a value can only be a typo (a learning rate of 3 diverges at once, a
    # million steps is days here); each description states its range.
    learning_rate: float = Field(default=3e-3, gt=0, le=1.0, allow_inf_nan=False,
                                 description="Peak AdamW learning rate (after warmup); 0 < value <= 1.")
    max_steps: int = Field(default=1500, ge=0, le=1_000_000, description="Optimizer steps to train for; 0 = use num_train_epochs. At most 1,000,000.")
    num_train_epochs: float = Field(default=1.0, gt=0, le=1000, allow_inf_nan=False,
                                    description="Epochs over the traces when max_steps is 0; 0 < value <= 1000.")
    batch_size: int = Field(default=32, ge=1, le=65536, description="Sequences per device per forward pass; 1..65536.")
    gradient_accumulation_steps: int = Field(default=1, ge=1, le=4096, description="Forward passes per optimizer step; 1..4096.")
    warmup_steps: int = Field(default=50, ge=0, le=1_000_000, description="Linear warmup steps before the decay; 0..1,000,000.")
    lr_scheduler: Scheduler = Field(default="cosine", description="transformers scheduler: cosine, linear, constant, constant_with_warmup, "
                                                                  "cosine_with_restarts, polynomial or inverse_sqrt.")
    weight_decay: float = Field(default=0.0, ge=0, le=1.0, allow_inf_nan=False, description="AdamW weight decay; 0..1.")
    max_grad_norm: float = Field(default=1.0, gt=0, le=1e6, allow_inf_nan=False, description="Gradient clipping norm; 0 < value <= 1e6.")
    # --- data
    max_seq_length: int = Field(default=192, ge=32, le=131_072, description="Longest prompt+completion in tokens; longer traces are left out "
                                "and counted. 32..131072: no question with a worked answer fits in fewer than 32 tokens.")
    packing: Switch = Field(default="auto", description="Pack each batch's examples into rows of max_seq_length tokens "
                            "(position ids restart per example, so none attends to another) instead of padding them: "
                            "auto = on for the built-in models (1.4-1.8x the tokens/s of padding, docs/benchmarks.md), off for "
                            "a model you bring, whose attention may not read packed position ids.")
    max_train_samples: int = Field(default=0, ge=0, le=100_000_000, description="Use only the first N traces (0 = all); for smoke runs.")
    prompt_format: PromptStyle = Field(default="auto", description="auto: the tokenizer's chat template when it has one, else plain "
                                                                   "`Question:`/`Answer:` text; chat or plain force one.")
    # --- what is trained
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA adapters (peft) instead of every weight.")
    # --- reproducibility and checkpoints
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Seed for initialisation of data order, dropout and everything random; "
                                                               "0..2**32-1.")
    save_steps: int = Field(default=250, ge=1, le=1_000_000, description="Save a resumable checkpoint every N steps; a crashed run resumes "
                                                                         "from the last one. 1..1,000,000.")
    logging_steps: int = Field(default=25, ge=1, le=1_000_000, description="Record the training loss every N steps; 1..1,000,000.")
    # --- hardware
    device: str = Field(default="auto", description=DEVICE_HELP + "; checked against this machine when the config is built.")
    dtype: Literal["float32", "bfloat16"] = Field(default="float32", description="Precision of the weights being trained: float32 or bfloat16. The saved "
                                                      "checkpoint keeps the base model's own dtype either way.")
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = Field(default="auto", description="Autocast for the forward pass: "
                                                                   "auto = bf16 on a CUDA card that supports it, else none (CPU).")
    gradient_checkpointing: Switch = Field(default="auto", description="Recompute activations in the backward pass to save memory: "
                                                                       "auto = on with CUDA, off on CPU (where it only costs time).")
    num_threads: int = Field(default=0, ge=0, le=1024, description="torch CPU threads (0 = one per core this process may use, set for the training and restored after); 0..1024.")

    # --- data-parallel training (Ray Train); left out of the folder key and training_config.json at
    # their defaults, so a one-worker run keeps the folder and checkpoint hash it had before they existed
    num_workers: int = Field(default=1, ge=1, le=4096, description="Data-parallel workers: 1 = train in this process (no Ray); N > 1 = "
                             "a Ray Train TorchTrainer with N DDP workers on the run's RayResource. batch_size is the global "
                             "batch per forward pass, split evenly across the workers (it must be divisible by N). 1..4096.")
    cpus_per_worker: int = Field(default=1, ge=1, le=1024, description="CPUs Ray reserves for each worker; also its torch thread count. "
                                 "Used only when num_workers > 1. 1..1024.")
    gpus_per_worker: float = Field(default=0.0, ge=0, le=64, allow_inf_nan=False, description="GPUs Ray reserves for each worker "
                                   "(0 = CPU workers, gloo; > 0 = CUDA workers, nccl). Used only when num_workers > 1. 0..64.")

    @model_validator(mode="after")
    def _batch_splits_across_workers(self) -> TrainSettings:
        if self.batch_size % self.num_workers:
            raise ValueError(f"batch_size={self.batch_size} cannot be split across num_workers={self.num_workers}: "
                             f"use a batch_size divisible by {self.num_workers} (e.g. {self.num_workers * max(1, self.batch_size // self.num_workers)})")
        return self

    @property
    def per_worker_batch_size(self) -> int:
        """Sequences each worker takes per forward pass (the global batch is unchanged by num_workers)."""
        return self.batch_size // self.num_workers

    def identity(self) -> dict:
        """The settings that decide the trained weights, for folder keys and training_config.json: the
        data-parallel fields only when training is data-parallel (a default run's key is what it always was)."""
        return self.model_dump(exclude=None if self.num_workers > 1 else set(DISTRIBUTED_FIELDS))

    @field_validator("device")
    @classmethod
    def _device_on_this_machine(cls, value: str) -> str:
        return check_device(value)
