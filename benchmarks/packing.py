"""Padding vs packing the training batches (issue 14, throughput lever).

Same model init, same batches of 32 traces (sampled once with a seed from a trace set), forward +
backward + AdamW step for each collation, interleaved over `--rounds`, best round kept:

- padded: transformers' `DataCollatorForSeq2Seq` (every example padded to the batch's longest);
- packed: `lib.training.data.PackingCollator` (examples first-fit into rows of `max_seq_length`,
  position ids restarting per example, block-diagonal causal mask);
- flattened: transformers' `DataCollatorWithFlattening` (the whole batch as one row).

Reports real (non-pad) tokens/s, steps/s, the fraction of computed positions that are real, and the
largest loss difference from the padded batch on the first batches (packing must not change it).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from common import DATASETS, emit


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--traces", default="reasoning-traces-v2")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=192)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    import torch
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.models.loading import load_model
    from tunix_rt_pipelines.lib.training.data import IGNORE_INDEX, PackingCollator, encode_traces

    torch.manual_seed(0)
    folder = create_builtin("builtin:tiny", Path(tempfile.mkdtemp()) / "base")
    model, tokenizer = load_model(folder, device="cpu", dtype="float32")
    model.train()
    tokenizer.padding_side = "right"
    examples = encode_traces(read_dataset(DATASETS / args.traces).rows, tokenizer, args.max_seq_length).examples
    rng = random.Random(0)
    batches = [[{"input_ids": e.input_ids, "labels": e.labels} for e in rng.sample(examples, args.batch_size)] for _ in range(args.steps)]
    flatten = DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE_INDEX)
    collators = {
        "padded": DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX),
        "packed": PackingCollator(tokenizer.pad_token_id, args.max_seq_length),
        "flattened": lambda feats: {**flatten(feats), "use_cache": False},
    }
    collated = {name: [c([dict(f) for f in b]) for b in batches] for name, c in collators.items()}
    real = sum(len(f["input_ids"]) for b in batches for f in b)
    with torch.no_grad():
        losses = {name: [model(**b).loss.item() for b in bs[:3]] for name, bs in collated.items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, bs in collated.items():
            start = time.perf_counter()
            for b in bs:
                model(**b).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
    result = {}
    for name, bs in collated.items():
        cells = sum(b["input_ids"].numel() for b in bs)
        result[name] = {"real_tokens_per_s": round(real / best[name]), "steps_per_s": round(args.steps / best[name], 2),
                        "real_fraction": round(real / cells, 3), "rows_per_batch": round(cells and sum(b["input_ids"].shape[0] for b in bs) / len(bs), 1),
                        "max_loss_diff_vs_padded": max(abs(a - b) for a, b in zip(losses[name], losses["padded"]))}
    result["packed_vs_padded"] = round(best["padded"] / best["packed"], 2)
    result["flattened_vs_padded"] = round(best["padded"] / best["flattened"], 2)
    emit("packing", {"traces": args.traces, "steps": args.steps, "batch_size": args.batch_size, **result}, args.json)


if __name__ == "__main__":
    main()
