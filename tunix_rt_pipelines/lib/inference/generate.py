"""Batched greedy generation over a loaded causal LM, with the same outputs as `model.generate`.

`reference_generate` is the definition: Hugging Face `generate`, one prompt at a time, greedy.
`generate_batched` produces the same text, faster, in three steps per batch of prompts:

1. **Prefill in length buckets.** Prompts are sorted by token length. Each bucket is left-padded
   only to its own longest prompt, so little compute goes to padding (one bucket for all of
   golden-v1 would spend 46% of its positions on pads).
2. **One decode batch.** The buckets' KV caches are left-padded to a common length and
   concatenated. The padding is masked out, so it adds no weight to attention.
3. **Finished rows leave.** A row that has produced EOS is dropped from the cache and the mask
   (once a quarter of the batch has finished), so decode compute follows the tokens still being
   generated, not the longest answer. The merged cache is preallocated for `max_new_tokens`, so
   a new token is copied into place rather than concatenated onto the whole cache.

Models whose cache is not a plain `DynamicCache` (sliding-window layers), or that return no
key/value cache at all (recurrent models such as Mamba), take the other path: Hugging Face's own
batched `generate` on each left-padded batch. `decoder="generate"` forces that path for every
model. Which path ran is returned (`GenerationResult.decoder`) and recorded with the predictions.
Generation stops at any of the model's end tokens: the generation config's `eos_token_id` (an id
or a list, e.g. an instruct model's end-of-turn token) and the tokenizer's.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tunix_rt_pipelines.lib.models.prompt import end_token_ids

FAST, HF_GENERATE = "batched-cache", "hf-generate"  # the two decoder paths, as recorded in predictions meta
PREFILL_BUCKETS = 4  # more buckets pad less but run more, smaller prefills; 4 is the measured optimum
PRUNE_FRACTION = 0.25  # drop finished rows once a quarter of the batch has finished (index_select is not free)


@dataclass(frozen=True)
class GenerationResult:
    completions: list[str]
    wall_seconds: float
    new_tokens: int
    decoder: str = HF_GENERATE  # FAST or HF_GENERATE; "mixed" when batches took different paths

    @property
    def items_per_second(self) -> float:
        return len(self.completions) / self.wall_seconds if self.wall_seconds else 0.0


def reference_generate(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int, add_special_tokens: bool = True) -> GenerationResult:
    """Hugging Face `generate`, greedy, one prompt at a time: the per-item loop outputs are judged by."""
    import torch

    start, completions, new_tokens, eos = time.perf_counter(), [], 0, end_token_ids(model, tokenizer)
    with torch.inference_mode():
        for prompt in prompts:
            enc = tokenizer([prompt], return_tensors="pt", add_special_tokens=add_special_tokens).to(model.device)
            out = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=sorted(eos))
            generated = _until_eos(out[0, enc["input_ids"].shape[1]:].tolist(), eos)
            new_tokens += len(generated)
            completions.append(tokenizer.decode(generated, skip_special_tokens=True))
    return GenerationResult(completions, time.perf_counter() - start, new_tokens)


def generate_batched(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int, batch_size: int, seed: int = 0,
                     decoder: str = "auto", add_special_tokens: bool = True) -> GenerationResult:
    """Greedy completions for `prompts`, identical to `reference_generate`, in batches.

    Args:
        model: A causal LM in eval mode.
        tokenizer: Its tokenizer; must pad on the left and have a pad token.
        prompts: Already formatted prompts (see `models.prompt.format_prompt`).
        max_new_tokens: Upper bound on generated tokens per prompt.
        batch_size: Prompts decoded together.
        seed: Seeds torch before generating. Greedy decoding does not sample, but a model that
            still had a stochastic layer active would also be reproducible.
        decoder: "auto" (the cache-merging path where the model's cache allows it, else Hugging
            Face's batched `generate`) or "generate" (always Hugging Face's).
        add_special_tokens: False for prompts that already hold them (a rendered chat template).

    Returns:
        Completions (special tokens removed) in the order of `prompts`, wall time, tokens made,
        and which decoder path ran.
    """
    import torch

    if tokenizer.padding_side != "left":
        raise ValueError("generation needs a left-padding tokenizer (tokenizer.padding_side = 'left')")
    if decoder not in ("auto", "generate"):
        raise ValueError(f"unknown decoder {decoder!r}: use auto or generate")
    torch.manual_seed(seed)
    start, eos = time.perf_counter(), end_token_ids(model, tokenizer)
    ids = tokenizer(list(prompts), add_special_tokens=add_special_tokens)["input_ids"]
    order = sorted(range(len(prompts)), key=lambda i: (len(ids[i]), i))
    completions: list[str] = [""] * len(prompts)
    new_tokens, paths = 0, set()
    with torch.inference_mode():
        for lo in range(0, len(order), batch_size):
            idx = order[lo:lo + batch_size]
            batch = [ids[i] for i in idx]
            tokens, path = (_decode_with_generate(model, tokenizer, batch, max_new_tokens, eos), HF_GENERATE) if decoder == "generate" \
                else _decode_batch(model, tokenizer, batch, max_new_tokens, eos)
            paths.add(path)
            for i, toks in zip(idx, tokens):
                new_tokens += len(toks)
                completions[i] = tokenizer.decode(toks, skip_special_tokens=True)
    return GenerationResult(completions, time.perf_counter() - start, new_tokens, paths.pop() if len(paths) == 1 else "mixed")


def _prefill(model, tokenizer, batch_ids: list[list[int]]):
    """One left-padded forward pass; returns (cache, mask, first generated token, last position)."""
    enc = tokenizer.pad({"input_ids": batch_ids}, return_tensors="pt").to(model.device)
    mask = enc["attention_mask"]                                     # (B, T)
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)     # (B, T), as generate() makes them
    extra = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    out = model(input_ids=enc["input_ids"], attention_mask=mask, position_ids=positions, use_cache=True, **extra)
    # Recurrent models (Mamba) return a state of their own, or none: the caller falls back to generate.
    return getattr(out, "past_key_values", None), mask, out.logits[:, -1].argmax(-1), positions[:, -1]


def _is_plain_dynamic_cache(cache) -> bool:
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    return type(cache) is DynamicCache and all(type(layer) is DynamicLayer for layer in cache.layers)


def _merge(parts: list[tuple], max_new_tokens: int):
    """Left-pad each bucket's cache and mask to a common length and stack them into one batch
    whose cache has room for `max_new_tokens` more positions."""
    import torch
    import torch.nn.functional as F
    from transformers import DynamicCache

    width = max(mask.shape[1] for _, mask, _, _ in parts)
    cache = DynamicCache(ddp_cache_data=[(None, None)] * len(parts[0][0].layers))
    for li in range(len(parts[0][0].layers)):
        keys = torch.cat([F.pad(c.layers[li].keys, (0, 0, width - mask.shape[1], 0)) for c, mask, _, _ in parts])    # (B, H, width, D)
        values = torch.cat([F.pad(c.layers[li].values, (0, 0, width - mask.shape[1], 0)) for c, mask, _, _ in parts])
        cache.layers[li] = _preallocated_layer_class()(keys, values, capacity=width + max_new_tokens)
    mask = torch.cat([F.pad(mask, (width - mask.shape[1], 0)) for _, mask, _, _ in parts])                        # (B, width)
    return cache, mask, torch.cat([p[2] for p in parts]), torch.cat([p[3] for p in parts])


@functools.cache
def _preallocated_layer_class():
    """Defined on first use: transformers is imported lazily, never when the module loads."""
    from transformers.cache_utils import DynamicLayer

    class PreallocatedLayer(DynamicLayer):
        """A `DynamicLayer` whose keys and values live in a buffer sized once per batch.

        Appending a token copies it into place instead of concatenating the whole cache again
        (`DynamicLayer.update` does `torch.cat` every step: quadratic in the answer length).
        `keys`/`values` are views of the filled part, so attention sees exactly the same tensors.
        """

        def __init__(self, keys, values, capacity: int):
            super().__init__()
            self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
            batch, heads, length, dim = keys.shape
            self._k = keys.new_empty((batch, heads, capacity, dim))                      # (B, H, capacity, D)
            self._v = values.new_empty((batch, heads, capacity, values.shape[-1]))
            self._k[:, :, :length], self._v[:, :, :length], self._n = keys, values, length
            self._views()

        def _views(self) -> None:
            self.keys, self.values = self._k[:, :, : self._n], self._v[:, :, : self._n]

        def update(self, key_states, value_states, *args, **kwargs):
            new = key_states.shape[-2]
            self._k[:, :, self._n : self._n + new] = key_states
            self._v[:, :, self._n : self._n + new] = value_states
            self._n += new
            self._views()
            return self.keys, self.values

        def batch_select_indices(self, indices) -> None:
            self._k, self._v = self._k[indices], self._v[indices]
            self._views()

    return PreallocatedLayer


def _decode_batch(model, tokenizer, batch_ids: list[list[int]], max_new_tokens: int, eos: frozenset[int]) -> tuple[list[list[int]], str]:
    """Generated token ids (end tokens excluded) for prompts sorted by length, and the path that made them."""
    import torch

    size = -(-len(batch_ids) // PREFILL_BUCKETS)
    parts = [_prefill(model, tokenizer, batch_ids[lo:lo + size]) for lo in range(0, len(batch_ids), size)]
    if not all(cache is not None and _is_plain_dynamic_cache(cache) for cache, *_ in parts):
        return _decode_with_generate(model, tokenizer, batch_ids, max_new_tokens, eos), HF_GENERATE
    cache, mask, token, position = _merge(parts, max_new_tokens)
    end = torch.tensor(sorted(eos), device=mask.device)
    rows = torch.arange(len(batch_ids), device=mask.device)  # which original row each live row is
    out: list[list[int]] = [[] for _ in batch_ids]
    finished = torch.zeros(len(batch_ids), dtype=torch.bool, device=mask.device)
    for step in range(max_new_tokens):
        done = torch.isin(token, end)
        for row, tok, stop in zip(rows.tolist(), token.tolist(), (done | finished).tolist()):
            if not stop:
                out[row].append(tok)
        finished |= done
        if step == max_new_tokens - 1 or bool(finished.all()):
            break
        if int(finished.sum()) >= PRUNE_FRACTION * len(rows):
            keep = (~finished).nonzero().squeeze(-1)
            cache.batch_select_indices(keep)
            rows, mask, token, position, finished = rows[keep], mask[keep], token[keep], position[keep], finished[keep]
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)  # (B, T+1)
        position = position + 1
        step_out = model(input_ids=token[:, None], attention_mask=mask, position_ids=position[:, None], past_key_values=cache, use_cache=True)
        cache, token = step_out.past_key_values, step_out.logits[:, -1].argmax(-1)
    return out, FAST


def _decode_with_generate(model, tokenizer, batch_ids: list[list[int]], max_new_tokens: int, eos: frozenset[int]) -> list[list[int]]:
    """Hugging Face `generate` on the whole left-padded batch."""
    enc = tokenizer.pad({"input_ids": batch_ids}, return_tensors="pt").to(model.device)
    generated = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                               pad_token_id=tokenizer.pad_token_id, eos_token_id=sorted(eos))[:, enc["input_ids"].shape[1]:]
    return [_until_eos(row, eos) for row in generated.tolist()]


def _until_eos(tokens: list[int], eos: frozenset[int]) -> list[int]:
    """The tokens before the first end token (generate() pads finished rows after it)."""
    return next((tokens[:k] for k, t in enumerate(tokens) if t in eos), tokens)
