"""Predictions for a dataset from a checkpoint, written atomically with their provenance.

Output folder:
    predictions.jsonl        {"id", "prediction"} per item, in dataset order
    predictions_meta.json    model sha256, generation config, device, dtype, versions, timing
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.evaluation.predictions import META_FILE, PREDICTIONS_FILE, predictions_jsonl
from tunix_rt_pipelines.lib.files import staged_dir
from tunix_rt_pipelines.lib.hashing import folder_key, sha256_bytes
from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
from tunix_rt_pipelines.lib.models.prompt import resolve_format


@dataclass(frozen=True)
class PredictionsResult:
    path: Path  # the folder
    model_sha256: str
    dataset_sha256: str
    n: int
    items_per_second: float
    predictions_sha256: str
    prompt_format: dict = field(default_factory=dict)  # PromptFormat.describe()
    decoder: str = ""  # which decoding path ran (generate.FAST or generate.HF_GENERATE)


def generation_settings(settings: GenerationSettings) -> dict[str, Any]:
    """What decides the generated text (recorded in the meta file and the folder key)."""
    return {"do_sample": False, "max_new_tokens": settings.max_new_tokens, "batch_size": settings.batch_size,
            "seed": settings.seed, "padding_side": "left", "max_items": settings.max_items,
            **({"prompt_format": settings.prompt_format} if settings.prompt_format != "auto" else {}),
            **({"decoder": settings.decoder} if settings.decoder != "auto" else {})}


def predictions_key(model_sha256: str, dataset_sha256: str, settings: GenerationSettings, device: str) -> str:
    """Folder name for one (model, dataset, generation settings, device): the same inputs, the same
    folder. `device` is the resolved one (`resolve_device`): "auto" means float32 on a CPU and
    bfloat16 on CUDA, so the two must not share a folder."""
    return folder_key(model_sha256, dataset_sha256, generation_settings(settings), settings.dtype, device)


def library_versions() -> dict[str, str]:
    import tokenizers
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__}


def predict(checkpoint_path: Path, model_sha256: str, items: list, dataset_sha256: str, settings: GenerationSettings, out_dir: Path,
            model_name: str = "") -> PredictionsResult:
    """Generate a prediction for every item and write the two files into `out_dir` atomically.

    Raises:
        ValueError: No items to predict (nothing is written).
        ModelLoadError: The checkpoint cannot be loaded (nothing is written).
    """
    from tunix_rt_pipelines.lib.inference.generate import generate_batched
    from tunix_rt_pipelines.lib.models.loading import load_model, resolve_device

    items = items[: settings.max_items or None]
    if not items:
        raise ValueError("no items to predict: the dataset is empty")
    device = resolve_device(settings.device)
    model, tokenizer = load_model(checkpoint_path, device=device, dtype=settings.dtype)
    fmt = resolve_format(tokenizer, settings.prompt_format)
    result = generate_batched(model, tokenizer, [fmt.prompt(tokenizer, i.prompt) for i in items], max_new_tokens=settings.max_new_tokens,
                              batch_size=settings.batch_size, seed=settings.seed, decoder=settings.decoder,
                              add_special_tokens=fmt.add_special_tokens)
    data = predictions_jsonl((i.id, text) for i, text in zip(items, result.completions))
    meta = {
        "model_name": model_name, "model_sha256": model_sha256, "dataset_sha256": dataset_sha256,
        "n": len(items), "generation": generation_settings(settings), "device": device, "dtype": str(model.dtype).removeprefix("torch."),
        "versions": library_versions(), "wall_seconds": round(result.wall_seconds, 4),
        "items_per_second": round(result.items_per_second, 3), "new_tokens": result.new_tokens,
        "prompt_format": fmt.describe(), "decoder": result.decoder,
        "predictions_sha256": sha256_bytes(data),
    }
    with staged_dir(out_dir) as tmp:
        (tmp / PREDICTIONS_FILE).write_bytes(data)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")  # the folder is staged: one rename publishes both
    return PredictionsResult(path=out_dir, model_sha256=model_sha256, dataset_sha256=dataset_sha256, n=len(items),
                             items_per_second=result.items_per_second, predictions_sha256=meta["predictions_sha256"],
                             prompt_format=fmt.describe(), decoder=result.decoder)
