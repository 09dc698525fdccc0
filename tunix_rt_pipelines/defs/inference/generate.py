"""Batched greedy generation over a loaded causal LM.

Prompts are sorted by token length and generated in batches with left padding (so every row's
last prompt token sits at the same position), `do_sample=False` and an explicit
`max_new_tokens`. Outputs are returned in the caller's order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class GenerationResult:
    completions: list[str]
    wall_seconds: float
    new_tokens: int

    @property
    def items_per_second(self) -> float:
        return len(self.completions) / self.wall_seconds if self.wall_seconds else 0.0


def generate_batched(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int, batch_size: int, seed: int = 0) -> GenerationResult:
    """Greedy completions for `prompts`.

    Args:
        model: A causal LM in eval mode.
        tokenizer: Its tokenizer; must pad on the left and have a pad token.
        prompts: Already formatted prompts (see `models.prompt.format_prompt`).
        max_new_tokens: Upper bound on generated tokens per prompt.
        batch_size: Prompts per `generate` call (1 = the per-item loop).
        seed: Seeds torch before generating; greedy decoding does not sample, but a model's
            own stochastic layers (if any remained active) would be reproducible too.

    Returns:
        Completions (special tokens removed) in the order of `prompts`, wall time, tokens made.
    """
    import torch

    if tokenizer.padding_side != "left":
        raise ValueError("generation needs a left-padding tokenizer (tokenizer.padding_side = 'left')")
    torch.manual_seed(seed)
    lengths = [len(ids) for ids in tokenizer(list(prompts))["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: (lengths[i], i))
    completions: list[str] = [""] * len(prompts)
    new_tokens = 0
    start = time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, len(order), batch_size):
            idx = order[lo:lo + batch_size]
            enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True).to(model.device)
            out = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
            generated = out[:, enc["input_ids"].shape[1]:]  # (B, new)
            new_tokens += int((generated != tokenizer.pad_token_id).sum())
            for i, text in zip(idx, tokenizer.batch_decode(generated, skip_special_tokens=True)):
                completions[i] = text
    return GenerationResult(completions, time.perf_counter() - start, new_tokens)
