"""Cheap, real inputs for registry tests: distinct checkpoints and genuine evaluations.

- `make_checkpoint`: a distinct checkpoint folder. Without a template it is a few KB (config,
  tokenizer, one safetensors tensor): enough for everything the registry checks, which is files
  and hashes. With a template (a real tiny model) it copies it and perturbs one tensor, so the
  result still loads and generates.
- `make_evaluation`: predictions answering chosen golden-v1 items right, scored by the project's
  own `evaluate_predictions` (no hand-written metrics).
- `promote_many`: the worker the concurrency test runs in threads inside spawned processes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from tunix_rt_pipelines.lib.datasets.contract import GOLDEN_KEY
from tunix_rt_pipelines.lib.datasets.importer import import_dataset
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.datasets.refs import DatasetRef
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.evaluation.evaluate import Evaluation, evaluate_predictions
from tunix_rt_pipelines.lib.evaluation.predictions import predictions_jsonl
from tunix_rt_pipelines.lib.models.loading import checkpoint_files, folder_sha256
from tunix_rt_pipelines.lib.registry.candidate import PromotionCandidate, candidate_from_evaluation
from tunix_rt_pipelines.lib.registry.promote import promote
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

DATASETS = REAL_DATASETS
NAME = "tunix-rt-test"


@cache
def golden():
    """golden-v1's rows and hash, read once."""
    data = read_dataset(DATASETS / GOLDEN_KEY)
    return data.rows, data.sha256


def make_checkpoint(folder: Path, seed: int, template: Path | None = None) -> tuple[Path, str]:
    """A distinct checkpoint in `folder`; returns it and its `folder_sha256`."""
    folder.mkdir(parents=True)
    if template is None:
        (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 8}))
        (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {}}}))
        save_file({"w": np.random.default_rng(seed).standard_normal((4, 4)).astype(np.float32)}, str(folder / "model.safetensors"),
                  metadata={"format": "pt"})
    else:
        for path in checkpoint_files(template):
            shutil.copy2(path, folder / path.name)
        weights = folder / "model.safetensors"
        tensors = load_file(str(weights))
        key = sorted(k for k in tensors if k.endswith("weight") and tensors[k].ndim == 2)[0]
        tensors[key] = tensors[key] + np.random.default_rng(seed).standard_normal(tensors[key].shape).astype(tensors[key].dtype) * 0.01
        save_file(tensors, str(weights), metadata={"format": "pt"})
    return folder, folder_sha256(folder)


def make_eval_set(datasets_dir: Path, key: str, count: int = 30) -> tuple[list, str]:
    """A further eval set imported into `datasets_dir/key/` (with a golden-v1 manifest beside it, for the pins); its rows and hash."""
    if not (datasets_dir / GOLDEN_KEY).exists():
        (datasets_dir / GOLDEN_KEY).mkdir(parents=True)
        shutil.copy2(DATASETS / GOLDEN_KEY / "manifest.json", datasets_dir / GOLDEN_KEY / "manifest.json")
    source = datasets_dir.parent / f"{key}.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"{key}: what is {i} + {i}?", "ground_truth": str(2 * i)}) + "\n" for i in range(count)))
    import_dataset(source, key, "eval", datasets_dir)
    data = read_dataset(datasets_dir / key)
    return data.rows, data.sha256


def make_evaluation(folder: Path, model_sha256: str, correct: int | set[str], dataset: tuple[str, list, str] | None = None) -> Evaluation:
    """Score predictions that get the first `correct` golden items (or these ids) right into `folder/evaluation.json`
    (the predictions go to the sibling `<folder>-predictions`). `dataset`: (key, rows, sha256) of another eval set."""
    key, (rows, sha) = (GOLDEN_KEY, golden()) if dataset is None else (dataset[0], dataset[1:])
    right = {r.id for r in rows[:correct]} if isinstance(correct, int) else correct
    predictions = folder.with_name(f"{folder.name}-predictions")
    predictions.mkdir(parents=True, exist_ok=True)
    answers = ((r.id, f"Answer: {r.ground_truth if r.id in right else 'no idea'}") for r in rows)
    (predictions / "predictions.jsonl").write_bytes(predictions_jsonl(answers))
    (predictions / "predictions_meta.json").write_text(json.dumps({"dataset_sha256": sha, "model_sha256": model_sha256}))
    return evaluate_predictions(predictions, rows, DatasetRef(key=key, kind="eval", sha256=sha, count=len(rows)), lock.spec_sha256(), folder)


def make_candidate(tmp: Path, seed: int, correct: int | set[str] = 50, *, name: str = NAME, template: Path | None = None,
                   **overrides) -> PromotionCandidate:
    """A checkpoint, its evaluation, and the candidate built the way assets and sweeps build it."""
    folder, sha = make_checkpoint(tmp / f"ckpt-{seed}", seed, template)
    evaluation = make_evaluation(tmp / f"eval-{seed}", sha, correct)
    candidate = candidate_from_evaluation(name, str(folder), sha, evaluation, source_asset="trained_checkpoint", run_id=f"run-{seed}",
                                          training_config={"seed": seed}, promoted_by="pytest")
    return dataclasses.replace(candidate, **overrides)


def promote_many(url: str, root: str, candidates: list[PromotionCandidate], threads: int) -> list[tuple[str, int, bool]]:
    """Promote `candidates` from `threads` threads of this process (its own engine); `(sha, version, created)`."""
    from tunix_rt_pipelines.lib.registry.registry import open_registry

    registry = open_registry(url, Path(root), DATASETS)
    try:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(functools.partial(promote, registry), candidates))
    finally:
        registry.close()
    return [(r.version.sha256, r.version.version, r.created) for r in results]
