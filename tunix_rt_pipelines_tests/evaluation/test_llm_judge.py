"""llm_judge@v1: the strict verdict parser and the judge over a backend.

Contract: exactly one whole `Verdict: correct|incorrect` line is a verdict; anything else is
`unparseable` and recorded as such (never "incorrect"); a missing prediction is incorrect
without a call to the backend; the backend sees the locked rubric with the item's fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tunix_rt_pipelines.lib.evaluation.llm_judge import RUBRIC, ContainsAnswerBackend, LlmJudge, parse_reply


@pytest.mark.parametrize(("reply", "verdict"), [
    ("Verdict: correct\nReason: same number", "correct"),
    ("verdict: INCORRECT", "incorrect"),                      # any case
    ("Verdict: correct.", "correct"),                         # a closing full stop
    ("  Verdict:correct  ", "correct"),                       # spacing
    ("Reason: x\nVerdict: incorrect", "incorrect"),           # order of the lines is free
    ("The verdict: correct", "unparseable"),                  # not a whole verdict line
    ("Verdict: correct\nVerdict: incorrect", "unparseable"),  # two verdicts
    ("Verdict: correct\nVerdict: correct", "unparseable"),    # two lines, even agreeing
    ("Verdict: probably correct", "unparseable"),
    ("correct", "unparseable"),
    ("", "unparseable"),
])
def test_parse_reply(reply: str, verdict: str):
    assert parse_reply(reply)[0] == verdict


def test_reason_is_kept():
    assert parse_reply("Verdict: incorrect\nReason: 43 is not 42") == ("incorrect", "43 is not 42")


@dataclass(frozen=True)
class Item:
    id: str
    prompt: str
    ground_truth: str


class Recording:
    """A backend that records what it was asked and replies from a script (tests the judge's plumbing)."""

    def __init__(self, replies: list[str]) -> None:
        self.replies, self.prompts = replies, []

    def identity(self) -> dict:
        return {"backend": "script"}

    def generation(self) -> dict:
        return {}

    def complete(self, requests):
        self.prompts = [r.prompt for r in requests]
        return self.replies[: len(requests)]


def test_judge_records_unparseable_and_missing_apart():
    items = [Item("a", "What is 2 + 2?", "4"), Item("b", "What is 3 + 3?", "6"), Item("c", "What is 1 + 1?", "2")]
    backend = Recording(["Verdict: correct\nReason: 4", "I think so"])
    verdicts = LlmJudge(backend).judge(items, {"a": "Answer: 4", "b": "Answer: 6"})

    assert [(v.id, v.verdict, v.correct) for v in verdicts] == [("a", "correct", True), ("b", "unparseable", False), ("c", "incorrect", False)]
    assert verdicts[1].raw == "I think so" and verdicts[2].reason == "missing" and verdicts[2].raw is None
    assert backend.prompts[0] == RUBRIC.format(question="What is 2 + 2?", expected="4", candidate="Answer: 4")
    assert len(backend.prompts) == 2  # the missing prediction was never sent


@pytest.mark.parametrize(("candidate", "verdict"), [
    ("Answer: 42", "correct"),
    ("The answer is 42.", "correct"),
    ("That comes to 42.0", "correct"),   # numbers compare as decimals
    ("The answer is 43.", "incorrect"),
    ("Answer: 4", "incorrect"),
])
def test_contains_answer_backend(candidate: str, verdict: str):
    [v] = LlmJudge(ContainsAnswerBackend()).judge([Item("x", "q", "42")], {"x": candidate})
    assert v.verdict == verdict
