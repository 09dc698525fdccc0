"""What is trained and how it is saved: LoRA adapters (peft) or every weight, and a checkpoint
that keeps what the base model had.

- `wrap_with_lora`: the model with peft LoRA adapters on the chosen modules; only they train.
- `parameter_counts`: trainable and total parameters (the UI shows both).
- `save_trained`: the registered checkpoint is always a plain Hugging Face model (LoRA is merged
  in), saved in the base model's dtype with the base's `use_cache` (training switches it off);
  with LoRA the adapter is kept beside it in `adapter/` (hashed and copied with the checkpoint,
  exportable alone with `tunix-rt registry export --adapter-only`).
"""

from __future__ import annotations

import json
from pathlib import Path

from tunix_rt_pipelines.lib.models.loading import ADAPTER_DIR
from tunix_rt_pipelines.lib.training.settings import LoraSettings


def base_facts(base_dir: Path) -> tuple[str, bool]:
    """The base checkpoint's stored dtype and `use_cache`, as its config.json says (defaults: float32, True)."""
    config = json.loads((base_dir / "config.json").read_text())
    return str(config.get("dtype") or config.get("torch_dtype") or "float32"), bool(config.get("use_cache", True))


def wrap_with_lora(model, lora: LoraSettings, seed: int):
    """`model` with LoRA adapters; the adapter weights are initialised from `seed` (a rerun is byte-identical)."""
    from peft import LoraConfig, get_peft_model
    from transformers import set_seed

    set_seed(seed)  # peft draws the adapters' initial weights from torch's generator
    targets = "all-linear" if list(lora.target_modules) == ["all-linear"] else list(lora.target_modules)
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, total) parameters of `model` (shared tensors counted once)."""
    seen, trainable, total = set(), 0, 0
    for parameter in model.parameters():
        if id(parameter) in seen:
            continue
        seen.add(id(parameter))
        total += parameter.numel()
        trainable += parameter.numel() if parameter.requires_grad else 0
    return trainable, total


def save_trained(model, model_dir: Path, *, lora: bool, base_dtype: str, use_cache: bool) -> None:
    """Save the trained model into `model_dir` as a plain checkpoint (merged, in the base's dtype).

    Args:
        model: The trained model (a peft model when `lora`).
        model_dir: An empty or absent folder.
        lora: Keep the adapter in `model_dir/adapter/`, then merge it into the weights.
        base_dtype: The base checkpoint's dtype name ("float32", "bfloat16", ...).
        use_cache: The base checkpoint's `use_cache` (the Trainer turns it off for training).
    """
    import torch

    if lora:
        model.save_pretrained(model_dir / ADAPTER_DIR, safe_serialization=True)
        model = model.merge_and_unload()
    model.config.use_cache = use_cache
    model.to(getattr(torch, base_dtype))
    model.save_pretrained(model_dir, safe_serialization=True)
