"""Running a calibrated judge: over the calibration set, and over a model's predictions.

`run_calibration` judges the calibration rows and writes `calibration.json` (figures + every
verdict). `judge_evaluation` judges the predictions an answer_correctness evaluation scored and
writes `judgement.json`: every verdict beside answer_correctness's, the agreement table between
the two judges, and the score raw and Rogan–Gladen-corrected. Both folders are written whole or
not at all (a backend that fails midway leaves nothing behind).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.evaluation.calibration import Calibration, calibrate, rogan_gladen
from tunix_rt_pipelines.lib.evaluation.judges import CORRECT, INCORRECT, UNPARSEABLE, Judge, Verdict, judge_id
from tunix_rt_pipelines.lib.evaluation.predictions import PREDICTIONS_FILE, read_predictions
from tunix_rt_pipelines.lib.files import staged_dir
from tunix_rt_pipelines.lib.hashing import sha256_file

CALIBRATION_FILE = "calibration.json"
JUDGEMENT_FILE = "judgement.json"


def run_calibration(judge: Judge, rows: Sequence[Any], out_dir: Path, dataset_sha256: str = "") -> Calibration:
    """Judge every calibration row's candidate and write `out_dir/calibration.json`.

    Raises:
        JudgeBackendError: The judge's backend failed (nothing is written).
    """
    verdicts = judge.judge(rows, {r.id: r.candidate for r in rows})
    result = calibrate(judge_id(judge), judge.spec_sha256(), rows, verdicts)
    payload = {**result.to_dict(), "dataset_sha256": dataset_sha256, "verdicts": [v.to_dict() for v in verdicts]}
    with staged_dir(out_dir) as tmp:
        (tmp / CALIBRATION_FILE).write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    return result


def read_calibration(path: Path) -> Calibration:
    data = json.loads(Path(path).read_text())
    return Calibration.from_dict({k: v for k, v in data.items() if k in Calibration.__dataclass_fields__})


def judge_evaluation(judge: Judge, items: Sequence[Any], predictions_dir: Path, evaluation: dict[str, Any], calibration: Calibration,
                     out_dir: Path) -> dict[str, Any]:
    """Judge the predictions behind an answer_correctness `evaluation` and write `out_dir/judgement.json`.

    Args:
        judge: A judge that passed its calibration gate (`calibration`).
        items: The eval items (golden-v1 rows) the evaluation covers.
        predictions_dir: The predictions folder the evaluation scored.
        evaluation: That evaluation's payload (`evaluate.read_evaluation`), for the agreement table.
        calibration: The judge's calibration, for the bias correction.

    Returns:
        The payload written.

    Raises:
        ValueError: The calibration is of another judge, or the evaluation covers other items or predictions.
        JudgeBackendError: The judge's backend failed (nothing is written).
    """
    if calibration.judge_sha256 != judge.spec_sha256():
        raise ValueError(f"the calibration is of judge {calibration.judge_sha256[:12]}, not of {judge_id(judge)} "
                         f"{judge.spec_sha256()[:12]}; re-run the calibration")
    baseline = {i["id"]: i for i in evaluation["items"]}
    if set(baseline) != {i.id for i in items}:
        raise ValueError("the evaluation covers other items than the dataset; re-run the evaluation")
    if sha256_file(predictions_dir / PREDICTIONS_FILE) != evaluation["predictions_sha256"]:
        raise ValueError(f"the predictions in {predictions_dir} are not the ones {evaluation['evaluator']} scored; re-run the evaluation")
    preds = read_predictions(predictions_dir / PREDICTIONS_FILE, known_ids=set(baseline))
    if preds.problems:
        raise ValueError("predictions file has problems:\n" + "\n".join(f"  {p}" for p in preds.problems[:20]))
    verdicts = judge.judge(items, preds.predictions)
    positive = sum(v.correct for v in verdicts)
    score = rogan_gladen(positive, len(verdicts), calibration)
    payload = {
        "judge": judge_id(judge), "judge_sha256": judge.spec_sha256(), "baseline": evaluation["evaluator"],
        "model_name": evaluation.get("model_name", ""), "model_sha256": evaluation["model_sha256"],
        "dataset_sha256": evaluation["dataset_sha256"], "n": len(verdicts), "correct": positive,
        "unparseable": sum(v.verdict == UNPARSEABLE for v in verdicts),
        "score": score.raw, "ci95": list(score.raw_ci95), "corrected_score": score.corrected, "corrected_ci95": list(score.corrected_ci95),
        "calibration": {"tpr": calibration.tpr, "tnr": calibration.tnr, "n": calibration.n},
        "agreement": agreement_with(baseline, verdicts),
        "items": [{**v.to_dict(), "baseline_correct": baseline[v.id]["correct"]} for v in verdicts],
    }
    with staged_dir(out_dir) as tmp:
        (tmp / JUDGEMENT_FILE).write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    return payload


def agreement_with(baseline: dict[str, dict[str, Any]], verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Rows: answer_correctness correct/incorrect; columns: this judge's correct/incorrect/unparseable."""
    table = {row: {col: 0 for col in (CORRECT, INCORRECT, UNPARSEABLE)} for row in (CORRECT, INCORRECT)}
    for v in verdicts:
        table[CORRECT if baseline[v.id]["correct"] else INCORRECT][v.verdict] += 1
    agree = table[CORRECT][CORRECT] + table[INCORRECT][INCORRECT]
    return {"table": table, "agree": agree, "n": len(verdicts), "rate": agree / len(verdicts) if verdicts else 0.0}
