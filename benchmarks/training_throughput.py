"""transformers' Trainer (as `train.py` configures it) vs a bare torch loop doing the same steps on
the same pre-collated batches: same model init, AdamW, warmup+cosine schedule, clipping.
Target: Trainer throughput >= 0.9x the bare loop.

Also times collation: transformers' `DataCollatorForSeq2Seq` (what `train.py` uses) against a
hand-written torch right-padder (what the project used before), on the same batches, and checks
that both give identical tensors."""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from pathlib import Path

from common import DATASETS, emit


def _features(tokenizer, steps: int, batch_size: int, seed: int) -> list[list[dict]]:
    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.training.data import encode_traces

    traces = read_dataset(DATASETS / "reasoning-traces-v1").rows
    examples = encode_traces(traces, tokenizer, 160).examples
    rng = random.Random(seed)
    return [[{"input_ids": e.input_ids, "labels": e.labels} for e in rng.sample(examples, batch_size)] for _ in range(steps)]


def hand_pad(batch: list[dict], pad_token_id: int) -> dict:
    """The torch right-padder `train.py` used before DataCollatorForSeq2Seq (kept here only to compare)."""
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_token_id, dtype=torch.long)   # (B, T)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)        # (B, T)
    mask = torch.zeros((len(batch), width), dtype=torch.long)               # (B, T)
    for row, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[row, :n], labels[row, :n], mask[row, :n] = torch.tensor(b["input_ids"]), torch.tensor(b["labels"]), 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def collation(tokenizer, features: list[list[dict]], repeats: int) -> dict:
    """Seconds to collate every batch, both ways (best of `repeats`), and whether the tensors agree."""
    import torch
    from transformers import DataCollatorForSeq2Seq

    library = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)
    same = all(all(torch.equal(a[k], b[k]) for k in ("input_ids", "attention_mask", "labels"))
               for a, b in ((library(f), hand_pad(f, tokenizer.pad_token_id)) for f in features))
    timings = {"library": [], "hand": []}
    for _ in range(repeats):
        for name, fn in (("library", library), ("hand", lambda f: hand_pad(f, tokenizer.pad_token_id))):
            start = time.perf_counter()
            for f in features:
                fn(f)
            timings[name].append(time.perf_counter() - start)
    return {"identical_tensors": same, "seq2seq_collator_seconds": round(min(timings["library"]), 3),
            "hand_padder_seconds": round(min(timings["hand"]), 3)}


def bare_loop(folder: Path, batches, config) -> float:
    import torch

    from tunix_rt_pipelines.lib.models.loading import load_model

    model, _ = load_model(folder, device="cpu", dtype="float32")
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.98), weight_decay=config.weight_decay)
    total = len(batches)
    start = time.perf_counter()
    for step, batch in enumerate(batches):
        warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
        decay = 0.5 * (1 + math.cos(math.pi * max(0, step - config.warmup_steps) / max(1, total - config.warmup_steps)))
        for group in opt.param_groups:
            group["lr"] = config.learning_rate * (warm if step < config.warmup_steps else decay)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - start


class _Prebatched:
    """Each item is one whole pre-collated batch, so Trainer runs exactly the same batches."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


def trainer_loop(folder: Path, batches, config, work: Path) -> float:
    from transformers import PrinterCallback, Trainer

    from tunix_rt_pipelines.lib.models.loading import load_model
    from tunix_rt_pipelines.lib.training.train import _training_arguments

    model, _ = load_model(folder, device="cpu", dtype="float32")
    model.train()
    args = _training_arguments(config.model_copy(update={"batch_size": 1, "save_steps": 10**9}), work, "cpu")
    trainer = Trainer(model=model, args=args, train_dataset=_Prebatched(batches), data_collator=lambda items: items[0])
    trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from tunix_rt_pipelines.defs.training.config import TrainingConfig
    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.models.loading import load_model

    tmp = Path(tempfile.mkdtemp())
    folder = create_builtin("builtin:tiny", tmp / "tiny")
    config = TrainingConfig(max_steps=args.steps)
    _, tokenizer = load_model(folder, device="cpu")
    tokenizer.padding_side = "right"
    from transformers import DataCollatorForSeq2Seq

    features = _features(tokenizer, args.steps, config.batch_size, seed=0)
    batches = [DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)(f) for f in features]
    tokens = int(sum(b["attention_mask"].sum() for b in batches))
    collated = collation(tokenizer, features, args.repeats)
    bare, trainer = [], []
    for i in range(args.repeats):  # interleaved so drift in machine load hits both
        bare.append(bare_loop(folder, batches, config))
        trainer.append(trainer_loop(folder, batches, config, tmp / f"trainer-{i}"))
    emit("training_throughput", {
        "steps": args.steps, "batch_size": config.batch_size, "tokens": tokens,
        "bare_seconds_best": round(min(bare), 2), "trainer_seconds_best": round(min(trainer), 2),
        "bare_tokens_per_second": round(tokens / min(bare)), "trainer_tokens_per_second": round(tokens / min(trainer)),
        "trainer_to_bare_throughput": round(min(bare) / min(trainer), 3), "target": 0.9,
        **collated, "collation_share_of_bare_step": round(collated["seq2seq_collator_seconds"] / min(bare), 4),
    }, args.json)


if __name__ == "__main__":
    main()
