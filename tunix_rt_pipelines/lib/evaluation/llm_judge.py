"""llm_judge@v1: a locked rubric prompt, a strict verdict parser, and a backend that answers it.

The rubric shows the judge model the question, the expected answer and the candidate answer and
asks for one line `Verdict: correct` or `Verdict: incorrect` and one `Reason: ...` line. The
reply is parsed strictly: exactly one verdict line, else the item is recorded `unparseable`
(counted apart, never silently "incorrect"). Decoding is greedy and seeded.

The backend is whatever produces replies: a local causal LM or an OpenAI-compatible endpoint
(`lib/inference/judge_backends.py`), or a deterministic rule (`ContainsAnswerBackend`, the judge
the tests calibrate as one that *does* meet the thresholds). Its `identity()` (which model) is
part of the spec, so the lock catches a changed rubric, parser or judge model alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tunix_rt_pipelines.lib.evaluation.judges import CORRECT, INCORRECT, UNPARSEABLE, Verdict
from tunix_rt_pipelines.lib.evaluation.metrics import as_number, normalize

LLM_JUDGE_NAME = "llm_judge"
LLM_JUDGE_VERSION = 1

# Kept short: a character-level judge (builtin:tiny) reads it one character per token.
RUBRIC = (
    "Grade the candidate answer.\n"
    "Question: {question}\n"
    "Expected: {expected}\n"
    "Candidate: {candidate}\n"
    "Same final answer as expected? Reply with one line 'Verdict: correct' or 'Verdict: incorrect', then 'Reason: ...'.\n"
)
VERDICT_LINE = r"^\s*verdict\s*:\s*(correct|incorrect)\s*[.!]?\s*$"  # one whole line, any case
REASON_LINE = r"^\s*reason\s*:\s*(.*?)\s*$"
MISSING_REASON = "missing"  # no prediction: incorrect without asking the judge

# Replies the parser must classify one way forever; part of the hash, like answer_correctness's probes.
PARSE_PROBES: tuple[str, ...] = (
    "Verdict: correct\nReason: same number", "verdict: INCORRECT", "Verdict: correct.", "  Verdict:correct  ",
    "The verdict: correct", "Verdict: correct\nVerdict: incorrect", "Verdict: correct\nVerdict: correct",
    "Verdict: probably correct", "", "correct", "Reason: x\nVerdict: incorrect",
)


@dataclass(frozen=True)
class JudgeRequest:
    """One thing to judge: the rendered rubric and the fields it was rendered from."""

    id: str
    question: str
    expected: str
    candidate: str

    @property
    def prompt(self) -> str:
        return RUBRIC.format(question=self.question, expected=self.expected, candidate=self.candidate)


class JudgeBackend(Protocol):
    """Produces the judge's raw replies, one per request, in order."""

    def identity(self) -> dict[str, Any]:
        """Which judge model this is (locked with the rubric); never holds a secret."""
        ...

    def generation(self) -> dict[str, Any]:
        """The decoding settings the replies are made with (locked too; greedy always)."""
        ...

    def complete(self, requests: Sequence[JudgeRequest]) -> list[str]:
        ...


class JudgeBackendError(Exception):
    """The backend cannot produce replies (unreachable endpoint, wrong key, timeout); one line, actionable."""


def parse_reply(reply: str) -> tuple[str, str]:
    """`(verdict, reason)` from a raw reply: verdict is correct, incorrect or unparseable.

    Exactly one line must match `VERDICT_LINE`; none, or several (even if they agree), is
    unparseable: a reply that says two things was not following the rubric.
    """
    verdicts = [m.group(1).lower() for m in re.finditer(VERDICT_LINE, reply, re.IGNORECASE | re.MULTILINE)]
    reasons = [m.group(1) for m in re.finditer(REASON_LINE, reply, re.IGNORECASE | re.MULTILINE)]
    reason = reasons[0] if reasons else ""
    if len(verdicts) != 1:
        return UNPARSEABLE, f"{len(verdicts)} verdict lines"
    return verdicts[0], reason


class LlmJudge:
    """llm_judge@v1 over one backend; implements `judges.Judge`."""

    name = LLM_JUDGE_NAME
    version = LLM_JUDGE_VERSION
    bump_hint = "LLM_JUDGE_VERSION in tunix_rt_pipelines/lib/evaluation/llm_judge.py"

    def __init__(self, backend: JudgeBackend) -> None:
        self.backend = backend

    def spec(self) -> dict[str, Any]:
        return {
            "judge": self.name, "version": self.version, "rubric": RUBRIC,
            "parse": {"verdict_line": VERDICT_LINE, "reason_line": REASON_LINE, "flags": "ignorecase multiline",
                      "verdict_lines_required": 1, "otherwise": UNPARSEABLE, "missing_prediction": MISSING_REASON},
            # From the backend itself, so the spec can never state other settings than the replies were made with.
            "generation": {"do_sample": False, **self.backend.generation()},
            "model": self.backend.identity(),
        }

    def spec_sha256(self) -> str:
        payload = {"spec": self.spec(), "behaviour": [list(parse_reply(p)) for p in PARSE_PROBES]}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()

    def judge(self, items: Sequence[Any], predictions: Mapping[str, str]) -> list[Verdict]:
        """Ask the backend about every item that has a prediction; a missing one is incorrect.

        Raises:
            JudgeBackendError: The backend failed; no partial verdicts are returned.
        """
        asked = [JudgeRequest(i.id, i.prompt, i.ground_truth, predictions[i.id]) for i in items if i.id in predictions]
        replies = dict(zip((r.id for r in asked), self.backend.complete(asked)))
        out = []
        for item in items:
            if item.id not in replies:
                out.append(Verdict(item.id, INCORRECT, False, 0.0, MISSING_REASON, None))
                continue
            verdict, reason = parse_reply(replies[item.id])
            out.append(Verdict(item.id, verdict, verdict == CORRECT, float(verdict == CORRECT), reason, replies[item.id]))
        return out


class ContainsAnswerBackend:
    """A deterministic rule behind the LLM-judge interface: correct when any word of the candidate
    equals the expected answer under answer_correctness's normalisation (numbers as decimals).

    It reads paraphrases ("The answer is 42.") that exact match cannot, and it replies in the
    rubric's format, so it runs through the same parser and calibration as a model. It is the
    reference judge that the calibration gate must let through; it is not offered as a general
    grader (a candidate that lists several numbers would fool it).
    """

    def identity(self) -> dict[str, Any]:
        return {"backend": "rule", "rule": "contains_answer", "normalization": "answer_correctness@v1"}

    def generation(self) -> dict[str, Any]:
        return {}  # nothing is decoded

    def complete(self, requests: Sequence[JudgeRequest]) -> list[str]:
        return [self._reply(r.expected, r.candidate) for r in requests]

    @staticmethod
    def _reply(expected: str, candidate: str) -> str:
        want = normalize(expected)
        want_num = as_number(want)
        for word in candidate.split():
            got = normalize(word)
            if got and (got == want or (want_num is not None and as_number(got) == want_num)):
                return f"Verdict: {CORRECT}\nReason: the candidate states {word!r}"
        return f"Verdict: {INCORRECT}\nReason: no word of the candidate is {expected!r}"
