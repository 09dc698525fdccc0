"""Calibration figures, the gate, the Rogan–Gladen correction, and the shipped calibration set.

Contract: TPR/TNR/accuracy/κ and the confusion table follow from the verdicts (unparseable is
neither correct nor a true negative); the gate refuses a judge below either threshold with the
figures in its message; the correction is (p + TNR - 1) / (TPR + TNR - 1) and equals the raw score
for a perfect judge, whose raw score lies inside the corrected interval; golden-v1-calibration is
exactly what its builder makes from golden-v1, and its labels follow its variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.evaluation.calibration import Calibration, calibrate, cohen_kappa, gate, rogan_gladen
from tunix_rt_pipelines.lib.evaluation.calibration_set import CALIBRATION_KEY, calibration_files
from tunix_rt_pipelines.lib.evaluation.judges import AnswerCorrectnessJudge, Verdict
from tunix_rt_pipelines.lib.evaluation.llm_judge import ContainsAnswerBackend, LlmJudge
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

CALIBRATION = read_dataset(REAL_DATASETS / CALIBRATION_KEY)


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    variant: str = "all"


def _verdict(i: int, verdict: str) -> Verdict:
    return Verdict(f"r{i}", verdict, verdict == "correct", float(verdict == "correct"), "", verdict)


def test_figures_follow_the_verdicts():
    # 10 labelled correct: 8 called correct, 1 incorrect, 1 unparseable; 10 labelled incorrect: 7 right, 2 wrong, 1 unparseable.
    labels = ["correct"] * 10 + ["incorrect"] * 10
    said = ["correct"] * 8 + ["incorrect", "unparseable"] + ["incorrect"] * 7 + ["correct"] * 2 + ["unparseable"]
    rows = [Row(f"r{i}", label) for i, label in enumerate(labels)]
    result = calibrate("j@v1", "sha", rows, [_verdict(i, v) for i, v in enumerate(said)])

    assert (result.tpr, result.tnr, result.accuracy, result.n) == (0.8, 0.7, 0.75, 20)
    assert result.confusion == {"correct": {"correct": 8, "incorrect": 1, "unparseable": 1},
                                "incorrect": {"correct": 2, "incorrect": 7, "unparseable": 1}}
    assert result.tpr_ci95[0] < 0.8 < result.tpr_ci95[1]
    # κ on "said correct" vs not: p_o = 16/20, p_e = (10*10 + 10*10)/400 = 0.5 -> 0.6.
    assert result.kappa == pytest.approx(0.6)
    assert Calibration.from_dict(result.to_dict()) == result


@pytest.mark.parametrize(("table", "kappa"), [
    ((10, 0, 0, 10), 1.0),   # perfect agreement
    ((5, 5, 5, 5), 0.0),     # chance
    ((0, 10, 10, 0), -1.0),  # perfect disagreement
    ((20, 0, 0, 0), 0.0),    # one class only: chance agreement is 1, κ undefined -> 0
])
def test_cohen_kappa(table, kappa):
    assert cohen_kappa(*table)[0] == pytest.approx(kappa)


def test_gate_refuses_below_either_threshold():
    rows = [Row(f"r{i}", "correct" if i < 10 else "incorrect") for i in range(20)]
    lazy = calibrate("lazy@v1", "sha", rows, [_verdict(i, "correct") for i in range(20)])  # says correct to everything

    result = gate(lazy, 0.9, 0.9)
    assert not result.passed
    assert "TNR 0.000 < 0.9" in result.message and "TPR" not in result.message.split("refused:")[1].split("on")[0]
    assert gate(lazy, 0.9, 0.0).passed


def test_rogan_gladen_known_value_and_a_chance_judge():
    rows = [Row(f"r{i}", "correct" if i < 10 else "incorrect") for i in range(20)]
    said = ["correct"] * 9 + ["incorrect"] + ["incorrect"] * 8 + ["correct"] * 2  # TPR 0.9, TNR 0.8
    cal = calibrate("j@v1", "sha", rows, [_verdict(i, v) for i, v in enumerate(said)])
    score = rogan_gladen(60, 100, cal)
    assert score.corrected == pytest.approx((0.6 + 0.8 - 1) / (0.9 + 0.8 - 1))
    assert score.corrected_ci95[0] <= score.corrected <= score.corrected_ci95[1]

    chance = calibrate("c@v1", "sha", rows, [_verdict(i, "correct") for i in range(20)])  # TPR 1, TNR 0
    with pytest.raises(ValueError, match="no better than chance"):
        rogan_gladen(60, 100, chance)


def test_a_judge_that_meets_the_thresholds_passes_and_its_corrected_score_is_the_raw_one():
    judge = LlmJudge(ContainsAnswerBackend())
    cal = calibrate("llm_judge@v1", judge.spec_sha256(), CALIBRATION.rows,
                    judge.judge(CALIBRATION.rows, {r.id: r.candidate for r in CALIBRATION.rows}))

    assert (cal.tpr, cal.tnr, cal.kappa) == (1.0, 1.0, 1.0) and gate(cal).passed
    score = rogan_gladen(45, 100, cal)
    assert score.raw == 0.45 and score.corrected == pytest.approx(score.raw, abs=1e-12)
    assert score.corrected_ci95[0] <= score.raw <= score.corrected_ci95[1]


def test_exact_match_is_refused_as_a_judge_of_paraphrases():
    """answer_correctness calls every paraphrased right answer wrong: TPR 0.5 on this set."""
    cal = calibrate("answer_correctness@v1", "sha", CALIBRATION.rows,
                    AnswerCorrectnessJudge().judge(CALIBRATION.rows, {r.id: r.candidate for r in CALIBRATION.rows}))
    assert (cal.tpr, cal.tnr) == (0.5, 1.0)
    assert cal.by_variant["paraphrase"] == {"n": 50, "agree": 0} and cal.by_variant["exact"] == {"n": 50, "agree": 50}
    assert not gate(cal).passed


def test_the_shipped_calibration_set_is_what_its_builder_makes():
    golden = read_dataset(REAL_DATASETS / "golden-v1").rows
    folder = REAL_DATASETS / CALIBRATION_KEY
    assert {name: (folder / name).read_bytes() for name in calibration_files(golden)} == calibration_files(golden)
    assert CALIBRATION.kind == "calibration" and not CALIBRATION.all_problems and len(CALIBRATION.rows) == 200
    assert all(r.label == ("correct" if r.variant in ("exact", "paraphrase") else "incorrect") for r in CALIBRATION.rows)
