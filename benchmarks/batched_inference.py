"""Three decoders on the same model, the same golden-v1 prompts and max_new_tokens, side by side:
the per-item Hugging Face `generate` loop (`reference_generate`, the definition of the right
answer), Hugging Face's own batched `generate` (left padding, greedy), and the project's
cache-merging batched decoder. Target: batched >= 10x the loop with identical outputs, and the
project's decoder used only where it beats HF's batched `generate` (docs/models.md).

Models: builtin:tiny (default), any folder (--checkpoint), or --qwen2-20m: a ~20M-parameter
Qwen2-shaped model (random init, byte-level BPE of 4,000 tokens) created here."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import DATASETS, emit


def _qwen2_20m(folder: Path) -> Path:
    """A random ~20M-parameter Qwen2 (hidden 384, 8 layers, 6 heads / 2 KV heads) with a BPE trained on the traces."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen2Config

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset

    rows = read_dataset(DATASETS / "reasoning-traces-v1").rows
    texts = [f"Question: {r.prompt}\n" + "".join(f"{s.content}\n" for s in r.steps) + f"Answer: {r.answer}" for r in rows]
    core = Tokenizer(models.BPE(unk_token="<unk>"))
    core.pre_tokenizer, core.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    core.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=4000, special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=384, intermediate_size=1152, num_hidden_layers=8, num_attention_heads=6,
                         num_key_value_heads=2, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", help="a model folder (default: builtin:tiny, created in a temp folder)")
    parser.add_argument("--qwen2-20m", action="store_true", help="a random ~20M-parameter Qwen2 created here")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--per-item-once", action="store_true",
                        help="run the per-item loop (~3 min) once, as the reference, and repeat only ours vs HF batched "
                             "(its speed is then one run's, and stable_across_repeats checks the two batched decoders only)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.inference.generate import generate_batched, reference_generate
    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.models.loading import count_parameters, load_model
    from tunix_rt_pipelines.lib.models.prompt import format_prompt

    if args.threads:
        torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp())
    folder = (Path(args.checkpoint) if args.checkpoint else _qwen2_20m(tmp / "qwen2-20m") if args.qwen2_20m
              else create_builtin("builtin:tiny", tmp / "tiny"))
    model, tokenizer = load_model(folder, device="cpu", dtype="float32")
    prompts = [format_prompt(item.prompt) for item in read_dataset(DATASETS / "golden-v1").rows]
    ours = lambda: generate_batched(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)  # noqa: E731
    hf = lambda: generate_batched(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,  # noqa: E731
                                  decoder="generate")
    loop = lambda: reference_generate(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens)  # noqa: E731
    ours(), hf()  # warm-up
    # Best of `repeats` for each side, interleaved, so a noisy moment does not decide the ratios.
    once = loop() if args.per_item_once else None
    runs = [(ours(), hf(), loop() if once is None else once) for _ in range(args.repeats)]
    best = [min((r[k] for r in runs), key=lambda g: g.wall_seconds) for k in range(3)]
    o, h, p = best
    emit("batched_inference", {
        "model": str(args.checkpoint or ("qwen2-20m (random init)" if args.qwen2_20m else "builtin:tiny (random init)")),
        "parameters": count_parameters(folder), "items": len(prompts), "threads": torch.get_num_threads(),
        "max_new_tokens": args.max_new_tokens, "ours_decoder_path": o.decoder,
        "ours_items_per_second": round(o.items_per_second, 2), "hf_batched_items_per_second": round(h.items_per_second, 2),
        "per_item_items_per_second": round(p.items_per_second, 2),
        "ours_over_hf_batched": round(o.items_per_second / h.items_per_second, 3),
        "ours_over_per_item": round(o.items_per_second / p.items_per_second, 2),
        "hf_batched_over_per_item": round(h.items_per_second / p.items_per_second, 2),
        "ours_identical_to_per_item": o.completions == p.completions, "hf_batched_identical_to_per_item": h.completions == p.completions,
        "stable_across_repeats": all(r[k].completions == best[k].completions for r in runs for k in range(3)),
    }, args.json)


if __name__ == "__main__":
    main()
