"""The judge interface: anything that turns (items, predictions) into per-item verdicts.

A judge has a `name`, a `version`, a `spec()` (plain JSON data: its rules, rubric, model) and a
`spec_sha256()` that the evaluation lock pins (`lock.check_judge_lock`). `judge(items,
predictions)` returns one `Verdict` per item, in item order. answer_correctness@v1 is one judge
(`AnswerCorrectnessJudge`): its verdicts are exactly `metrics.score_item`'s results and its hash
is exactly the pinned `lock.spec_sha256(SPEC)`, so wrapping it moved no score and no lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from tunix_rt_pipelines.lib.evaluation.metrics import score_item
from tunix_rt_pipelines.lib.evaluation.spec import METRIC_NAME, METRIC_VERSION, SPEC

CORRECT, INCORRECT, UNPARSEABLE = "correct", "incorrect", "unparseable"


@dataclass(frozen=True)
class Verdict:
    """What one judge said about one item.

    `correct` is True only for a `correct` verdict; an `unparseable` reply is recorded as such
    (and counted apart), never silently turned into "incorrect" by the parser.
    """

    id: str
    verdict: str  # correct | incorrect | unparseable
    correct: bool
    score: float  # 1.0 or 0.0 for the binary judges of this project
    reason: str  # answer_correctness: exact | numeric | mismatch | missing | empty; an LLM judge: its stated reason
    raw: str | None  # the judge's raw output (an LLM's reply; answer_correctness: the normalised extraction)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Judge(Protocol):
    """A versioned, lockable judge."""

    name: str
    version: int
    bump_hint: str  # where the version lives, for the lock's "bump the version" message

    def spec(self) -> dict[str, Any]:
        """The judge's rules as JSON data (what a reader needs to reproduce a verdict)."""
        ...

    def spec_sha256(self) -> str:
        """The hash the lock pins; any change of rules or behaviour changes it."""
        ...

    def judge(self, items: Sequence[Any], predictions: Mapping[str, str]) -> list[Verdict]:
        """One verdict per item of `items` (anything with id, prompt, ground_truth), in order."""
        ...


def judge_id(judge: Judge) -> str:
    """`answer_correctness@v1`, `llm_judge@v1`."""
    return f"{judge.name}@v{judge.version}"


class AnswerCorrectnessJudge:
    """answer_correctness@v1 (see docs/evaluation.md) behind the `Judge` interface."""

    name = METRIC_NAME
    version = METRIC_VERSION
    bump_hint = "METRIC_VERSION in tunix_rt_pipelines/lib/evaluation/spec.py"

    def __init__(self, spec: dict[str, Any] = SPEC) -> None:
        self._spec = spec
        self.name, self.version = spec["metric"], spec["version"]

    def spec(self) -> dict[str, Any]:
        return self._spec

    def spec_sha256(self) -> str:
        from tunix_rt_pipelines.lib.evaluation.lock import spec_sha256  # lock imports metrics; judges sit beside it

        return spec_sha256(self._spec)

    def judge(self, items: Sequence[Any], predictions: Mapping[str, str]) -> list[Verdict]:
        out = []
        for item in items:
            r = score_item(item.id, item.ground_truth, predictions.get(item.id), self._spec)
            out.append(Verdict(r.id, CORRECT if r.correct else INCORRECT, r.correct, float(r.correct), r.reason, r.extracted))
        return out

