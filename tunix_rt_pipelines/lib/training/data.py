"""Turning training traces into token ids with the loss on the completion only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tunix_rt_pipelines.lib.models.prompt import PromptFormat, format_completion, format_prompt

IGNORE_INDEX = -100  # label value the loss skips (prompt and padding positions)


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


@dataclass(frozen=True)
class EncodedTraces:
    examples: list[Example]
    too_long: int  # traces left out because prompt+completion exceeds max_seq_length


def encode_traces(traces: Sequence, tokenizer, max_seq_length: int, fmt: PromptFormat = PromptFormat("plain"),
                  end_ids: frozenset[int] = frozenset()) -> EncodedTraces:
    """Tokenize `prompt -> steps + answer + end token`, masking the prompt out of the labels.

    Args:
        traces: `TrainingTrace` rows.
        tokenizer: The model's tokenizer (adds BOS itself when the model uses one).
        max_seq_length: Traces longer than this are left out (and counted), never truncated:
            a truncated trace would teach the model to stop before its answer.
        fmt: Plain text, or the tokenizer's chat template (the loss then covers the assistant turn).
        end_ids: The tokens generation stops at (chat: the template's end-of-turn must be one of them).

    Returns:
        The examples, in the traces' order, and how many were left out.
    """
    completions_text = [format_completion([s.content for s in t.steps], t.answer) for t in traces]
    if fmt.style == "plain":  # one batched call each: 6,000 traces in well under a second
        prompts = tokenizer([format_prompt(t.prompt) for t in traces])["input_ids"]
        completions = [c + [tokenizer.eos_token_id] for c in tokenizer(completions_text, add_special_tokens=False)["input_ids"]]
    else:
        pairs = [fmt.example(tokenizer, t.prompt, c, end_ids | {tokenizer.eos_token_id}) for t, c in zip(traces, completions_text)]
        prompts, completions = [p for p, _ in pairs], [c for _, c in pairs]
    examples, too_long = [], 0
    for p, c in zip(prompts, completions):
        if len(p) + len(c) > max_seq_length:
            too_long += 1
            continue
        examples.append(Example(input_ids=p + c, labels=[IGNORE_INDEX] * len(p) + c))
    return EncodedTraces(examples, too_long)


class TraceDataset:
    """A map-style dataset of `Example`s for `torch.utils.data.DataLoader` / `Trainer`."""

    def __init__(self, examples: list[Example]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return {"input_ids": self.examples[i].input_ids, "labels": self.examples[i].labels}


class PackingCollator:
    """Packs a batch's examples into few rows instead of padding each one to the longest.

    Rows hold whole examples, first fit in the batch's order, up to `row_length` tokens. Position
    ids restart at 0 for every example and no attention mask is passed: transformers then builds
    a block-diagonal causal mask from the position ids (`masking_utils.find_packed_sequence_indices`),
    so no example attends to another, and the loss covers the same tokens as unpacked. The
    tail of a row is padding (labels -100). `use_cache=False` keeps the forward pass from making
    a cache, which would switch the packed-mask detection off.

    Written here rather than `DataCollatorWithFlattening` because that packs the whole batch into one
    row: with 32 examples that is one 2,600-token attention instead of a few 192-token ones.
    benchmarks/packing.py measures both against padding.
    """

    def __init__(self, pad_token_id: int, row_length: int):
        self.pad_token_id, self.row_length = pad_token_id, row_length

    def __call__(self, features: list[dict[str, list[int]]]) -> dict:
        import torch

        rows: list[list[dict[str, list[int]]]] = []
        space: list[int] = []
        for f in features:
            n = len(f["input_ids"])
            slot = next((r for r, free in enumerate(space) if free >= n), None)
            if slot is None:
                rows.append([]), space.append(max(self.row_length, n))
                slot = len(rows) - 1
            rows[slot].append(f)
            space[slot] -= n
        width = max(sum(len(f["input_ids"]) for f in row) for row in rows)
        ids, labels, positions = [], [], []
        for row in rows:
            row_ids = [t for f in row for t in f["input_ids"]]
            row_labels = [t for f in row for t in f["labels"]]
            row_pos = [p for f in row for p in range(len(f["input_ids"]))]
            pad = width - len(row_ids)
            ids.append(row_ids + [self.pad_token_id] * pad)
            labels.append(row_labels + [IGNORE_INDEX] * pad)
            positions.append(row_pos + list(range(pad)))
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "position_ids": torch.tensor(positions),
                "use_cache": False}
