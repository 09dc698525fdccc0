"""`PromotionCandidate`: everything the registry needs to know about a model it is asked to keep.

Built by the `promotion_candidate` asset (better of base and trained), by a sweep for its best
trial, or by `tunix-rt registry promote`; usually through `candidate_from_evaluation`, which
takes the metrics snapshot from the evaluation.json it points at. Dagster-free and picklable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.evaluation.evaluate import Evaluation

MODEL_NAME_PREFIX = "tunix-rt-"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class MetricsSnapshot:
    """The locked metric on the evaluation set: mean, items, 95% Wilson interval, per category."""

    score: float
    n: int
    correct: int
    ci95: tuple[float, float]
    by_category: dict[str, dict[str, Any]]

    @classmethod
    def from_evaluation(cls, payload: dict[str, Any]) -> MetricsSnapshot:
        """From an evaluation.json payload (`evaluate.evaluate_predictions`)."""
        return cls(score=float(payload["score"]), n=int(payload["n"]), correct=int(payload["correct"]),
                   ci95=(float(payload["ci95"][0]), float(payload["ci95"][1])), by_category=payload["by_category"])


@dataclass(frozen=True)
class SetEvaluation:
    """The same checkpoint's evaluation on a further declared eval set: what it claims and its evaluation.json.

    Recorded on the version beside the primary set's metrics; it never decides promotion.
    """

    evaluation_path: str
    metrics: MetricsSnapshot | None  # None: the evaluation.json could not be read
    dataset_key: str
    dataset_sha256: str
    evaluator: str
    spec_sha256: str


@dataclass(frozen=True)
class PromotionCandidate:
    """A checkpoint with its evaluation and provenance, as `promote()` takes it."""

    model_name: str  # registry name, e.g. tunix-rt-tiny (see `default_model_name`)
    checkpoint_path: str  # folder saved with save_pretrained
    checkpoint_sha256: str  # `loading.folder_sha256` of that folder
    source_asset: str  # the asset (or sweep trial) that made the checkpoint
    run_id: str  # Dagster run id ("" outside Dagster)
    data_version: str  # the source asset's data version (partition-free)
    evaluation_path: str | None  # evaluation.json with per-item results; None = no evaluation
    metrics: MetricsSnapshot | None
    dataset_key: str
    dataset_sha256: str
    evaluator: str  # answer_correctness@v1
    spec_sha256: str  # the metric spec hash the evaluation ran under
    training_config: dict[str, Any] = field(default_factory=dict)
    promoted_by: str = "unknown"
    run_failed: bool = False  # the run or trial that produced it failed
    forced: bool = False  # override the overridable guards (recorded on the version)
    further: tuple[SetEvaluation, ...] = ()  # the further declared eval sets (after the primary), same checkpoint


def _claims(path: str | Path) -> tuple[dict[str, Any], MetricsSnapshot | None]:
    """An evaluation.json's payload and metrics; ({}, None) when it cannot be read."""
    try:
        payload = json.loads(Path(path).read_text())
        return payload, MetricsSnapshot.from_evaluation(payload)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}, None


def set_evaluation(evaluation: Evaluation | str | Path) -> SetEvaluation:
    """A further eval set's evaluation, its claims read from its evaluation.json."""
    path = str(evaluation.path if isinstance(evaluation, Evaluation) else evaluation)
    payload, metrics = _claims(path)
    return SetEvaluation(evaluation_path=path, metrics=metrics, dataset_key=str(payload.get("dataset_key", "")),
                         dataset_sha256=str(payload.get("dataset_sha256", "")), evaluator=str(payload.get("evaluator", "")),
                         spec_sha256=str(payload.get("spec_sha256", "")))


def candidate_from_evaluation(model_name: str, checkpoint_path: str | Path, checkpoint_sha256: str, evaluation: Evaluation | str | Path | None,
                              *, source_asset: str, run_id: str = "", data_version: str = "", training_config: dict[str, Any] | None = None,
                              promoted_by: str = "unknown", run_failed: bool = False, forced: bool = False,
                              further: Sequence[Evaluation | str | Path] = ()) -> PromotionCandidate:
    """A candidate whose metrics, dataset and evaluator come from its evaluation.json.

    Args:
        evaluation: An `Evaluation`, the path of an evaluation.json, or None (no evaluation;
            only `force=True` can promote such a candidate).
        training_config: Defaults to `training_config.json` inside the checkpoint, if any.
        further: The same checkpoint's evaluations on the further declared eval sets (recorded, not deciding).

    An unreadable evaluation.json is not an error here: the candidate then carries no metrics
    and `promote()` refuses it (or records the override) with the reason.
    """
    path = evaluation.path if isinstance(evaluation, Evaluation) else evaluation
    payload, metrics = _claims(path) if path else ({}, None)
    return PromotionCandidate(
        model_name=model_name, checkpoint_path=str(checkpoint_path), checkpoint_sha256=checkpoint_sha256, source_asset=source_asset,
        run_id=run_id, data_version=data_version or checkpoint_sha256, evaluation_path=str(path) if path else None, metrics=metrics,
        dataset_key=str(payload.get("dataset_key", "")), dataset_sha256=str(payload.get("dataset_sha256", "")),
        evaluator=str(payload.get("evaluator", "")), spec_sha256=str(payload.get("spec_sha256", "")),
        training_config=training_config if training_config is not None else read_training_config(Path(checkpoint_path)),
        promoted_by=promoted_by, run_failed=run_failed, forced=forced, further=tuple(set_evaluation(e) for e in further),
    )


def read_training_config(folder: Path) -> dict[str, Any]:
    """`training_config.json` saved with a fine-tuned checkpoint ({} for a base model)."""
    try:
        return json.loads((folder / "training_config.json").read_text())
    except (OSError, ValueError):
        return {}


def check_model_name(name: str) -> str:
    """`name` if it is a valid registry name, else ValueError saying what is allowed."""
    if not _NAME.match(name):
        raise ValueError(f"invalid model name {name[:60]!r}{'...' if len(name) > 60 else ''}: use 1-100 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def default_model_name(base_model: str) -> str:
    """`tunix-rt-<short name>` for a base model setting: builtin:tiny -> tunix-rt-tiny,
    Qwen/Qwen2.5-0.5B -> tunix-rt-qwen2.5-0.5b, a folder ending in my_llm/ -> tunix-rt-my_llm."""
    short = base_model.removeprefix("builtin:").rstrip("/").split("/")[-1].lower()
    short = re.sub(r"[^a-z0-9._-]+", "-", short).strip("-._") or "model"
    return check_model_name((MODEL_NAME_PREFIX + short)[:100])
