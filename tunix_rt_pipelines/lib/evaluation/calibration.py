"""Calibrating a judge against labelled verdicts, the gate on it, and the Rogan–Gladen correction.

A judge's verdicts on a calibration set (rows with a `label`) give:

- **TPR** (sensitivity): of the candidates labelled correct, the share the judge called correct;
- **TNR** (specificity): of those labelled incorrect, the share it called incorrect;
- **accuracy** and **Cohen's κ** (agreement beyond chance, judge "correct" vs not);
- each with a 95% interval: Wilson for the three proportions, and for κ the large-sample normal
  interval with SE = sqrt(p_o (1 - p_o) / (n (1 - p_e)^2)) (Cohen 1960), clipped to [-1, 1].

An `unparseable` verdict is neither "correct" nor "incorrect": on a correct-labelled row it is a
miss (lowers TPR), on an incorrect-labelled one it is not a true negative (lowers TNR).

A judge may score only when TPR and TNR are both at or above the thresholds (default 0.9 / 0.9).
Its raw share of "correct" verdicts p is then also reported bias-corrected (Rogan & Gladen 1978):
(p + TNR - 1) / (TPR + TNR - 1), clipped to [0, 1]. The interval of the corrected score is the
range of that formula over the corners of the Wilson intervals of p, TPR and TNR: conservative
(wider than 95%), and (0, 1) when a corner leaves TPR + TNR <= 1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

from tunix_rt_pipelines.lib.evaluation.judges import CORRECT, INCORRECT, UNPARSEABLE, Verdict
from tunix_rt_pipelines.lib.evaluation.stats import wilson_interval

DEFAULT_MIN_TPR = 0.9
DEFAULT_MIN_TNR = 0.9
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Calibration:
    """A judge's agreement with the labels of a calibration set."""

    judge: str  # llm_judge@v1
    judge_sha256: str
    n: int
    tpr: float
    tnr: float
    accuracy: float
    kappa: float
    tpr_ci95: tuple[float, float]
    tnr_ci95: tuple[float, float]
    accuracy_ci95: tuple[float, float]
    kappa_ci95: tuple[float, float]
    confusion: dict[str, dict[str, int]]  # label -> judge verdict -> count
    by_variant: dict[str, dict[str, int]]  # variant -> {"n", "agree"}

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(**{k: tuple(v) if k.endswith("_ci95") else v for k, v in data.items()})


def calibrate(judge: str, judge_sha256: str, rows: Sequence[Any], verdicts: Sequence[Verdict]) -> Calibration:
    """Compare `verdicts` with the labels of calibration `rows` (same order, same ids).

    Raises:
        ValueError: The verdicts are not for these rows, or a label class is empty (TPR or TNR undefined).
    """
    if [r.id for r in rows] != [v.id for v in verdicts]:
        raise ValueError("verdicts do not match the calibration rows; judge the calibration set itself")
    confusion = {label: {v: 0 for v in (CORRECT, INCORRECT, UNPARSEABLE)} for label in (CORRECT, INCORRECT)}
    by_variant: dict[str, dict[str, int]] = {}
    for row, verdict in zip(rows, verdicts):
        confusion[row.label][verdict.verdict] += 1
        tally = by_variant.setdefault(getattr(row, "variant", "all"), {"n": 0, "agree": 0})
        tally["n"] += 1
        tally["agree"] += int(verdict.verdict == row.label)
    tp, tn = confusion[CORRECT][CORRECT], confusion[INCORRECT][INCORRECT]
    positives, negatives = sum(confusion[CORRECT].values()), sum(confusion[INCORRECT].values())
    if not positives or not negatives:
        raise ValueError(f"the calibration set needs rows of both labels (it has {positives} correct, {negatives} incorrect)")
    n = positives + negatives
    kappa, kappa_ci = cohen_kappa(tp, confusion[CORRECT][INCORRECT] + confusion[CORRECT][UNPARSEABLE],
                                  confusion[INCORRECT][CORRECT], confusion[INCORRECT][INCORRECT] + confusion[INCORRECT][UNPARSEABLE])
    return Calibration(
        judge=judge, judge_sha256=judge_sha256, n=n, tpr=tp / positives, tnr=tn / negatives, accuracy=(tp + tn) / n, kappa=kappa,
        tpr_ci95=wilson_interval(tp, positives, CONFIDENCE), tnr_ci95=wilson_interval(tn, negatives, CONFIDENCE),
        accuracy_ci95=wilson_interval(tp + tn, n, CONFIDENCE), kappa_ci95=kappa_ci,
        confusion=confusion, by_variant=dict(sorted(by_variant.items())),
    )


def cohen_kappa(tp: int, fn: int, fp: int, tn: int) -> tuple[float, tuple[float, float]]:
    """Cohen's κ of a 2x2 table (label correct/incorrect x judge correct/not) and its 95% interval.

    A table where chance agreement is already 1 (everything in one class) gives κ = 0, interval (-1, 1).
    """
    n = tp + fn + fp + tn
    p_o = (tp + tn) / n
    p_e = ((tp + fn) * (tp + fp) + (fp + tn) * (fn + tn)) / (n * n)
    if p_e >= 1:
        return 0.0, (-1.0, 1.0)
    kappa = (p_o - p_e) / (1 - p_e)
    half = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2) * math.sqrt(p_o * (1 - p_o) / (n * (1 - p_e) ** 2))
    return kappa, (max(-1.0, kappa - half), min(1.0, kappa + half))


@dataclass(frozen=True)
class GateResult:
    passed: bool
    message: str


def gate(calibration: Calibration, min_tpr: float = DEFAULT_MIN_TPR, min_tnr: float = DEFAULT_MIN_TNR) -> GateResult:
    """Whether the judge may score: TPR >= min_tpr and TNR >= min_tnr; the message says why not and what to do."""
    short = [f"{name} {value:.3f} < {floor}" for name, value, floor in (("TPR", calibration.tpr, min_tpr), ("TNR", calibration.tnr, min_tnr))
             if value < floor]
    if not short:
        return GateResult(True, f"{calibration.judge} agrees with the labels: TPR {calibration.tpr:.3f}, TNR {calibration.tnr:.3f} "
                                f"(thresholds {min_tpr} / {min_tnr}, n={calibration.n})")
    return GateResult(False, f"{calibration.judge} is refused: {', '.join(short)} on {calibration.n} labelled candidates. Its scores "
                             "would not be trustworthy; use a stronger judge model (a new LLM_JUDGE_VERSION), or fix the rubric, "
                             "and re-run the calibration")


@dataclass(frozen=True)
class CorrectedScore:
    raw: float
    raw_ci95: tuple[float, float]
    corrected: float
    corrected_ci95: tuple[float, float]
    n: int


def rogan_gladen(positive: int, n: int, calibration: Calibration) -> CorrectedScore:
    """The raw share of "correct" verdicts and its Rogan–Gladen correction, each with an interval.

    Raises:
        ValueError: TPR + TNR <= 1: the judge is no better than chance and nothing can be corrected.
    """
    if calibration.tpr + calibration.tnr <= 1:
        raise ValueError(f"TPR + TNR = {calibration.tpr + calibration.tnr:.3f} <= 1: a judge no better than chance cannot be corrected")
    raw, raw_ci = positive / n, wilson_interval(positive, n, CONFIDENCE)

    def corrected(p: float, tpr: float, tnr: float) -> float:
        return min(1.0, max(0.0, (p + tnr - 1) / (tpr + tnr - 1)))

    corners = list(itertools.product(raw_ci, calibration.tpr_ci95, calibration.tnr_ci95))
    if any(tpr + tnr <= 1 for _, tpr, tnr in corners):
        interval = (0.0, 1.0)
    else:
        values = [corrected(*corner) for corner in corners]
        interval = (min(values), max(values))
    return CorrectedScore(raw, raw_ci, corrected(raw, calibration.tpr, calibration.tnr), interval, n)
