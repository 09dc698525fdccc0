"""Batched greedy generation (`generate_batched`) vs a per-item Hugging Face `generate` loop
(`reference_generate`): same model, same golden-v1 prompts, same max_new_tokens. Target: >= 10x
items/s with identical outputs. Run it on the random-init base and on a trained checkpoint: a
trained model stops early, which favours the per-item loop."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import DATASETS, emit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", help="a model folder (default: builtin:tiny, created in a temp folder)")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.inference.generate import generate_batched, reference_generate
    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.models.loading import load_model
    from tunix_rt_pipelines.lib.models.prompt import format_prompt

    folder = Path(args.checkpoint) if args.checkpoint else create_builtin("builtin:tiny", Path(tempfile.mkdtemp()) / "tiny")
    model, tokenizer = load_model(folder, device="cpu", dtype="float32")
    prompts = [format_prompt(item.prompt) for item in read_dataset(DATASETS / "golden-v1").rows]
    generate_batched(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)  # warm-up
    # Best of `repeats` for each side, interleaved, so a noisy moment does not decide the ratio.
    runs = [(generate_batched(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size),
             reference_generate(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens)) for _ in range(args.repeats)]
    batched = min((b for b, _ in runs), key=lambda r: r.wall_seconds)
    loop = min((r for _, r in runs), key=lambda r: r.wall_seconds)
    assert all(b.completions == batched.completions and r.completions == loop.completions for b, r in runs)
    emit("batched_inference", {
        "model": args.checkpoint or "builtin:tiny (random init: every item generates max_new_tokens)",
        "items": len(prompts), "threads": torch.get_num_threads(), "max_new_tokens": args.max_new_tokens,
        "batched_items_per_second": round(batched.items_per_second, 2), "loop_items_per_second": round(loop.items_per_second, 2),
        "speedup": round(batched.items_per_second / loop.items_per_second, 2),
        "identical_outputs": batched.completions == loop.completions,
        "batched_new_tokens": batched.new_tokens, "loop_new_tokens": loop.new_tokens,
    }, args.json)


if __name__ == "__main__":
    main()
