"""The one prompt format shared by training and inference.

A model sees `Question: <prompt>\\n` and is trained to continue with its reasoning steps, one
per line, and a final `Answer: <answer>` line, which is what answer_correctness@v1 extracts.
"""

from __future__ import annotations

from collections.abc import Sequence


def format_prompt(question: str) -> str:
    """The text a model is given for one question."""
    return f"Question: {question}\n"


def format_completion(steps: Sequence[str], answer: str) -> str:
    """The text a model is trained to produce: steps, then the answer line."""
    return "".join(f"{step}\n" for step in steps) + f"Answer: {answer}"
