"""answer_correctness: extraction, normalisation, per-item scoring and aggregation.

Every rule's parameters come from the spec dict (`spec.SPEC` by default), so the rules a reader
finds in `spec.py` are the ones that run. Pure Python; no dagster, no torch.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tunix_rt_pipelines.lib.evaluation.spec import SPEC
from tunix_rt_pipelines.lib.evaluation.stats import wilson_interval


@dataclass(frozen=True)
class ItemResult:
    """The score of one dataset item."""

    id: str
    expected: str
    extracted: str | None
    correct: bool
    reason: str  # exact | numeric | mismatch | missing | empty


@dataclass(frozen=True)
class ScoreReport:
    """A whole evaluation: the mean, its interval, breakdowns and every item."""

    metric: str
    version: int
    score: float
    n: int
    correct: int
    ci95: tuple[float, float]
    by_category: dict[str, dict[str, Any]]
    by_difficulty: dict[str, dict[str, Any]]
    items: list[ItemResult]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci95"] = list(self.ci95)
        return out


def extract_answer(prediction: str, spec: Mapping[str, Any] = SPEC) -> str:
    """The answer part of a model's output (not yet normalised).

    With the v1 spec: the text after the last `Answer:` (any case) up to the end of that line,
    else the last non-empty line, else "".
    """
    rule = spec["extraction"]
    flags = 0 if rule["marker_case_sensitive"] else re.IGNORECASE
    matches = list(re.finditer(re.escape(rule["marker"]), prediction, flags))
    if matches:
        match = matches[-1] if rule["occurrence"] == "last" else matches[0]
        rest = prediction[match.end():]
        return rest.splitlines()[0] if rule["until"] == "end_of_line" and rest else rest
    if rule["fallback"] == "last_non_empty_line":
        lines = [line for line in prediction.splitlines() if line.strip()]
        return lines[-1] if lines else ""
    return ""


def normalize(text: str, spec: Mapping[str, Any] = SPEC) -> str:
    """Normalise an extracted answer or a ground truth for comparison."""
    rule = spec["normalization"]
    text = unicodedata.normalize(rule["unicode_form"], text)
    if rule["casefold"]:
        text = text.casefold()
    if rule["collapse_whitespace"]:
        text = " ".join(text.split())
    if rule["trim"]:
        text = text.strip()
    quotes, trailing = tuple(rule["strip_surrounding"]), rule["strip_trailing"]
    while True:  # until stable: '"42".' -> '"42"' -> '42'
        if len(text) >= 2 and text[0] == text[-1] and text[0] in quotes:
            text = text[1:-1].strip()
        elif text and trailing and text[-1] in trailing:
            text = text.rstrip(trailing).strip()
        else:
            return text


def as_number(text: str, spec: Mapping[str, Any] = SPEC) -> Decimal | None:
    """The decimal value of a normalised answer, or None when it is not a plain number."""
    rule = spec["numeric"]
    sign = ""
    if text[:1] in "+-" and text:
        sign, text = text[0], text[1:]
    if rule["strip_leading"] and text.startswith(rule["strip_leading"]):
        text = text[len(rule["strip_leading"]):]
    text = sign + text
    if not re.fullmatch(rule["pattern"], text) or not any(c in "0123456789" for c in text):
        return None
    try:
        return Decimal(text.replace(rule["thousands_separator"], ""))
    except InvalidOperation:
        return None


def score_item(item_id: str, expected: str, prediction: str | None, spec: Mapping[str, Any] = SPEC) -> ItemResult:
    """Score one prediction against its ground truth (1 if equal after normalisation, else 0)."""
    fail = spec["failure_handling"]
    if prediction is None:
        return ItemResult(item_id, expected, None, False, fail["missing"]["reason"])
    extracted = normalize(extract_answer(prediction, spec), spec)
    if not extracted:
        return ItemResult(item_id, expected, extracted, False, fail["empty"]["reason"])
    truth = normalize(expected, spec)
    got_num, want_num = as_number(extracted, spec), as_number(truth, spec)
    if got_num is not None and want_num is not None:
        return ItemResult(item_id, expected, extracted, got_num == want_num, "numeric" if got_num == want_num else "mismatch")
    return ItemResult(item_id, expected, extracted, extracted == truth, "exact" if extracted == truth else "mismatch")


def _group(rows: Iterable[tuple[str, bool]], confidence: float) -> dict[str, dict[str, Any]]:
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, correct in rows:
        tally[key][0] += int(correct)
        tally[key][1] += 1
    return {
        key: {"score": c / n, "correct": c, "n": n, "ci95": list(wilson_interval(c, n, confidence))}
        for key, (c, n) in sorted(tally.items())
    }


def score_dataset(items: Iterable[Any], predictions: Mapping[str, str], spec: Mapping[str, Any] = SPEC) -> ScoreReport:
    """Score predictions (`{id: text}`) against eval items; an item without one scores 0 (`missing`).

    Args:
        items: `EvalItem`s (anything with id, ground_truth, category, difficulty).
        predictions: Model outputs by item id. Ids not in `items` are ignored here; callers
            report them (see `tunix-rt score` in `cli/evaluation.py`).
        spec: The metric spec.

    Returns:
        The `ScoreReport`: mean over all items, Wilson interval, breakdowns and per-item results.
    """
    items = list(items)
    results = [score_item(i.id, i.ground_truth, predictions.get(i.id), spec) for i in items]
    confidence = spec["aggregation"]["interval"]["confidence"]
    correct, n = sum(r.correct for r in results), len(results)
    return ScoreReport(
        metric=spec["metric"], version=spec["version"], score=correct / n if n else 0.0, n=n, correct=correct,
        ci95=wilson_interval(correct, n, confidence),
        by_category=_group(((i.category, r.correct) for i, r in zip(items, results)), confidence),
        by_difficulty=_group(((i.difficulty, r.correct) for i, r in zip(items, results)), confidence),
        items=results,
    )
