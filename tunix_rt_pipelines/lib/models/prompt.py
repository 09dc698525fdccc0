"""The prompt format shared by training and inference: plain text, or the tokenizer's chat template.

Plain (models without a chat template, builtin:tiny): a model sees `Question: <prompt>\\n` and is
trained to continue with its reasoning steps, one per line, and a final `Answer: <answer>` line,
which is what answer_correctness@v1 extracts.

Chat (instruct models whose tokenizer has a chat template): the user turn is the question, the
assistant turn is the same steps and `Answer:` line. Training puts the loss on the assistant
turn only; inference renders the user turn with `add_generation_prompt=True`. The template's
sha256 is recorded with every prediction, so a change of format can never pass for the same run.

`resolve_format(tokenizer, style)`: "auto" picks chat exactly when the tokenizer has a template.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PromptStyle = Literal["auto", "plain", "chat"]


def format_prompt(question: str) -> str:
    """The plain-format text a model is given for one question."""
    return f"Question: {question}\n"


def format_completion(steps: Sequence[str], answer: str) -> str:
    """The text a model is trained to produce: steps, then the answer line."""
    return "".join(f"{step}\n" for step in steps) + f"Answer: {answer}"


@dataclass(frozen=True)
class PromptFormat:
    """How one tokenizer turns questions into model input."""

    style: Literal["plain", "chat"]
    template_sha256: str | None = None  # sha256 of the chat template text (chat only)

    @property
    def add_special_tokens(self) -> bool:
        """A rendered chat template already holds its special tokens (BOS and turn markers)."""
        return self.style == "plain"

    def describe(self) -> dict[str, str | None]:
        return {"style": self.style, "template_sha256": self.template_sha256}

    def prompt(self, tokenizer, question: str) -> str:
        """The text generation starts from."""
        if self.style == "plain":
            return format_prompt(question)
        return tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)

    def example(self, tokenizer, question: str, completion: str, end_ids: frozenset[int]) -> tuple[list[int], list[int]]:
        """Token ids of (prompt, completion) for training; the completion ends with an end token.

        Raises:
            ValueError: The chat template renders the user turn differently alone than before an
                assistant turn, so the two cannot be told apart for the loss mask.
        """
        if self.style == "plain":
            prompt = tokenizer(format_prompt(question))["input_ids"]
            completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
            return prompt, completion_ids + [tokenizer.eos_token_id]
        user = [{"role": "user", "content": question}]
        prompt = _ids(tokenizer.apply_chat_template(user, tokenize=True, add_generation_prompt=True))
        full = _ids(tokenizer.apply_chat_template([*user, {"role": "assistant", "content": completion}], tokenize=True))
        if full[: len(prompt)] != prompt:
            raise ValueError("the chat template renders the user turn differently on its own than before an assistant "
                             "turn; train with prompt_format: plain, or fix the template")
        completion_ids = full[len(prompt):]
        if not end_ids & set(completion_ids):  # a template that ends the turn without an end token the model stops at
            completion_ids.append(tokenizer.eos_token_id)
        return prompt, completion_ids


def _ids(rendered) -> list[int]:
    """`apply_chat_template(tokenize=True)` gives a list, or a BatchEncoding in some versions."""
    return list(rendered["input_ids"] if hasattr(rendered, "keys") else rendered)


def resolve_format(tokenizer, style: PromptStyle = "auto") -> PromptFormat:
    """The format for `tokenizer`: chat when it has a template (or `style` says so), else plain.

    Raises:
        ValueError: `style` is "chat" but the tokenizer has no chat template.
    """
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # several named templates: the default one is used
        template = template.get("default")
    if style == "chat" and not template:
        raise ValueError("prompt_format is chat but the tokenizer has no chat template; use auto or plain")
    if style == "plain" or not template:
        return PromptFormat("plain")
    return PromptFormat("chat", hashlib.sha256(template.encode()).hexdigest())


def end_token_ids(model, tokenizer) -> frozenset[int]:
    """Every token that ends an answer: the generation config's `eos_token_id` (one or a list) and the tokenizer's."""
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = set(configured if isinstance(configured, (list, tuple)) else [configured] if configured is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    if not ids:
        raise ValueError("the model has no end-of-sequence token (neither its generation config nor its tokenizer names one)")
    return frozenset(ids)
