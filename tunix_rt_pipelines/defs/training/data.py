"""Turning training traces into token ids with the loss on the completion only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tunix_rt_pipelines.defs.models.prompt import format_completion, format_prompt

IGNORE_INDEX = -100  # label value the loss skips (prompt and padding positions)


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


@dataclass(frozen=True)
class EncodedTraces:
    examples: list[Example]
    too_long: int  # traces left out because prompt+completion exceeds max_seq_length


def encode_traces(traces: Sequence, tokenizer, max_seq_length: int) -> EncodedTraces:
    """Tokenize `prompt -> steps + answer + EOS`, masking the prompt out of the labels.

    Args:
        traces: `TrainingTrace` rows.
        tokenizer: The model's tokenizer (adds BOS itself when the model uses one).
        max_seq_length: Traces longer than this are left out (and counted), never truncated:
            a truncated trace would teach the model to stop before its answer.

    Returns:
        The examples, in the traces' order, and how many were left out.
    """
    prompts = tokenizer([format_prompt(t.prompt) for t in traces])["input_ids"]
    completions = tokenizer([format_completion([s.content for s in t.steps], t.answer) for t in traces],
                            add_special_tokens=False)["input_ids"]
    examples, too_long = [], 0
    for p, c in zip(prompts, completions):
        c = c + [tokenizer.eos_token_id]
        if len(p) + len(c) > max_seq_length:
            too_long += 1
            continue
        examples.append(Example(input_ids=p + c, labels=[IGNORE_INDEX] * len(p) + c))
    return EncodedTraces(examples, too_long)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, megabatch: int = 8) -> list[list[int]]:
    """Batches of example indices with little padding, still well mixed.

    The examples are shuffled with `seed` and cut into megabatches of `batch_size * megabatch`.
    Each megabatch is sorted by length and split into batches. On reasoning-traces-v1 this takes
    the share of real (non-pad) tokens from ~72% for random batches to ~95%, so about a quarter
    less compute per step. transformers 5 dropped `group_by_length`, so this does the same job.
    """
    import random

    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * megabatch):
        chunk = sorted(order[start:start + batch_size * megabatch], key=lambda i: lengths[i])
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    return batches


class BatchDataset:
    """A map-style dataset whose items are whole batches (lists of examples).

    `Trainer` runs with `per_device_train_batch_size=1` over it and shuffles the batches; the
    collator pads the one batch it receives.
    """

    def __init__(self, examples: list[Example], batches: list[list[int]]):
        self.examples = examples
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> list[dict[str, list[int]]]:
        return [{"input_ids": self.examples[j].input_ids, "labels": self.examples[j].labels} for j in self.batches[i]]


class PadCollator:
    """Right-pads one batch; counts the real (non-pad) tokens it has seen for throughput figures.

    Accepts a list of examples, or a one-element list holding a list of examples (a `BatchDataset` item).
    """

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id
        self.tokens_seen = 0

    def __call__(self, batch: list):
        import torch

        if len(batch) == 1 and isinstance(batch[0], list):
            batch = batch[0]
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)   # (B, T)
        labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)     # (B, T)
        mask = torch.zeros((len(batch), width), dtype=torch.long)                    # (B, T)
        for row, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[row, :n] = torch.tensor(b["input_ids"])
            labels[row, :n] = torch.tensor(b["labels"])
            mask[row, :n] = 1
        self.tokens_seen += int(mask.sum())
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
