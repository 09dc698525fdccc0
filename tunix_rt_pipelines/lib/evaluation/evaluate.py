"""Scoring a predictions folder with answer_correctness and saving the per-item results beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.evaluation.metrics import score_dataset
from tunix_rt_pipelines.lib.evaluation.predictions import META_FILE, PREDICTIONS_FILE, read_predictions
from tunix_rt_pipelines.lib.evaluation.spec import SPEC, metric_id
from tunix_rt_pipelines.lib.files import atomic_write_text

EVALUATION_FILE = "evaluation.json"


@dataclass(frozen=True)
class EvaluationRef:
    path: str  # evaluation.json
    evaluator: str  # answer_correctness@v1
    spec_sha256: str
    dataset_key: str
    dataset_sha256: str
    model_sha256: str
    score: float
    n: int
    correct: int
    ci95: tuple[float, float]
    model_name: str = ""


def evaluate_predictions(predictions_dir: Path, items: list, dataset_key: str, dataset_sha256: str, spec_sha256: str) -> tuple[EvaluationRef, dict[str, Any]]:
    """Score `predictions_dir/predictions.jsonl` against `items` and write `evaluation.json` there.

    Raises:
        ValueError: The predictions were made on other data, or the file has problems (a broken
            predictions file must never be scored as if the model had answered wrongly).
    """
    meta = json.loads((predictions_dir / META_FILE).read_text())
    if meta["dataset_sha256"] != dataset_sha256:
        raise ValueError(f"predictions in {predictions_dir} were made on dataset {meta['dataset_sha256'][:12]}, "
                         f"not {dataset_key} {dataset_sha256[:12]}; re-run the predictions")
    preds = read_predictions(predictions_dir / PREDICTIONS_FILE, known_ids={i.id for i in items})
    if preds.problems:
        raise ValueError("predictions file has problems:\n" + "\n".join(f"  {p}" for p in preds.problems[:20]))
    report = score_dataset(items, preds.predictions, SPEC)
    payload = {**report.to_dict(), "evaluator": metric_id(SPEC), "spec_sha256": spec_sha256, "dataset_key": dataset_key,
               "dataset_sha256": dataset_sha256, "model_sha256": meta["model_sha256"], "model_name": meta.get("model_name", ""),
               "predictions_path": str(predictions_dir)}
    out = predictions_dir / EVALUATION_FILE
    atomic_write_text(out, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    ref = EvaluationRef(path=str(out), evaluator=payload["evaluator"], spec_sha256=spec_sha256, dataset_key=dataset_key,
                        dataset_sha256=dataset_sha256, model_sha256=meta["model_sha256"], score=report.score, n=report.n,
                        correct=report.correct, ci95=report.ci95, model_name=payload["model_name"])
    return ref, payload


def read_evaluation(ref: EvaluationRef) -> dict[str, Any]:
    return json.loads(Path(ref.path).read_text())
