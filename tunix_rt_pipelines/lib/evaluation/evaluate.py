"""Scoring a predictions folder with answer_correctness into an evaluation folder of its own.

The evaluation folder is keyed by what was scored (`evaluation_key`: the predictions' content
hash, the dataset hash and the metric spec hash) and holds one file, `evaluation.json`: the
score, its interval, the breakdowns, every item's result and the provenance. Nothing is written
into the predictions folder: no step rewrites another step's output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.datasets.refs import DatasetRef
from tunix_rt_pipelines.lib.evaluation.metrics import score_dataset
from tunix_rt_pipelines.lib.evaluation.predictions import META_FILE, PREDICTIONS_FILE, read_predictions
from tunix_rt_pipelines.lib.evaluation.spec import SPEC, metric_id
from tunix_rt_pipelines.lib.files import staged_dir
from tunix_rt_pipelines.lib.hashing import folder_key, sha256_file

EVALUATION_FILE = "evaluation.json"


@dataclass(frozen=True)
class Evaluation:
    """An evaluation.json as the pipeline reads it back: where it is and its headline figures."""

    path: Path  # the evaluation.json
    evaluator: str  # answer_correctness@v1
    spec_sha256: str
    dataset_key: str
    dataset_sha256: str
    model_sha256: str
    model_name: str
    score: float
    n: int
    correct: int
    ci95: tuple[float, float]

    @classmethod
    def from_payload(cls, path: Path, payload: dict[str, Any]) -> Evaluation:
        return cls(path=path, evaluator=payload["evaluator"], spec_sha256=payload["spec_sha256"], dataset_key=payload["dataset_key"],
                   dataset_sha256=payload["dataset_sha256"], model_sha256=payload["model_sha256"],
                   model_name=payload.get("model_name", ""), score=float(payload["score"]), n=int(payload["n"]),
                   correct=int(payload["correct"]), ci95=(float(payload["ci95"][0]), float(payload["ci95"][1])))


def read_evaluation(path: Path) -> tuple[Evaluation, dict[str, Any]]:
    """An evaluation.json: its summary and the whole payload (per-item results included)."""
    payload = json.loads(Path(path).read_text())
    return Evaluation.from_payload(Path(path), payload), payload


def evaluation_key(predictions_sha256: str, dataset_sha256: str, spec_sha256: str) -> str:
    """The evaluation folder's name: the same predictions, data and rules, the same folder."""
    return folder_key(predictions_sha256, dataset_sha256, spec_sha256)


def evaluate_predictions(predictions_dir: Path, items: list, dataset: DatasetRef, spec_sha256: str, out_dir: Path) -> Evaluation:
    """Score `predictions_dir/predictions.jsonl` against `items` and write `out_dir/evaluation.json`.

    Args:
        predictions_dir: A folder written by `inference.predict.predict`.
        items: The dataset's rows (`load_rows`).
        dataset: Which dataset `items` are.
        spec_sha256: The metric spec hash the score is computed under.
        out_dir: The evaluation's own folder (see `evaluation_key`); written atomically.

    Raises:
        ValueError: The predictions were made on other data, or the file has problems (a broken
            predictions file must never be scored as if the model had answered wrongly).
    """
    meta = json.loads((predictions_dir / META_FILE).read_text())
    if meta["dataset_sha256"] != dataset.sha256:
        raise ValueError(f"predictions in {predictions_dir} were made on dataset {meta['dataset_sha256'][:12]}, "
                         f"not {dataset.key} {dataset.sha256[:12]}; re-run the predictions")
    preds = read_predictions(predictions_dir / PREDICTIONS_FILE, known_ids={i.id for i in items})
    if preds.problems:
        raise ValueError("predictions file has problems:\n" + "\n".join(f"  {p}" for p in preds.problems[:20]))
    report = score_dataset(items, preds.predictions, SPEC)
    payload = {**report.to_dict(), "evaluator": metric_id(SPEC), "spec_sha256": spec_sha256, "dataset_key": dataset.key,
               "dataset_sha256": dataset.sha256, "model_sha256": meta["model_sha256"], "model_name": meta.get("model_name", ""),
               "predictions_sha256": sha256_file(predictions_dir / PREDICTIONS_FILE)}
    with staged_dir(out_dir) as tmp:
        (tmp / EVALUATION_FILE).write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    return Evaluation.from_payload(out_dir / EVALUATION_FILE, payload)
