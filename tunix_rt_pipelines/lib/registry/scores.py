"""Every declared eval set's score on a version (`version_eval_scores`, revision 0004).

The primary set (the first in `tunix_rt.yaml`) decided promotion; its row repeats the metrics on
`model_versions`, which rank the leaderboard. Each further set has a row of its own with its
dataset hash, evaluator, spec hash, metrics and the stored copy of its evaluation.json, so months
later the registry still says how good a version was on each set, on which data, judged by what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tunix_rt_pipelines.lib.registry.candidate import MetricsSnapshot
from tunix_rt_pipelines.lib.registry.tables import version_eval_scores


@dataclass(frozen=True)
class EvalSetScore:
    dataset_key: str
    is_primary: bool
    dataset_sha256: str
    evaluator: str
    spec_sha256: str
    score: float
    n: int
    correct: int
    ci95_low: float
    ci95_high: float
    by_category: dict[str, Any] | None
    evaluation_uri: str | None
    evaluation_sha256: str | None


def score_row(payload: dict[str, Any], metrics: MetricsSnapshot, *, primary: bool, evaluation_uri: str | None,
              evaluation_sha256: str | None) -> dict[str, Any]:
    """The row values (without name and version) for one set's evaluation.json payload and its metrics snapshot."""
    return {"dataset_key": str(payload["dataset_key"]), "is_primary": primary, "dataset_sha256": str(payload["dataset_sha256"]),
            "evaluator": str(payload["evaluator"]), "spec_sha256": str(payload["spec_sha256"]), "score": metrics.score, "n": metrics.n,
            "correct": metrics.correct, "ci95_low": metrics.ci95[0], "ci95_high": metrics.ci95[1], "by_category": metrics.by_category,
            "evaluation_uri": evaluation_uri, "evaluation_sha256": evaluation_sha256}


def scores_by_version(conn: sa.Connection, versions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[EvalSetScore, ...]]:
    """Each version's scores: the primary set first, then the further sets by dataset key."""
    wanted = sorted(set(versions))
    out: dict[tuple[str, int], list[EvalSetScore]] = {}
    if not wanted:
        return {}
    t = version_eval_scores
    rows = conn.execute(sa.select(t).where(sa.tuple_(t.c.name, t.c.version).in_(wanted))
                        .order_by(t.c.name, t.c.version, t.c.is_primary.desc(), t.c.dataset_key))
    for row in rows:
        data = dict(row._mapping)
        out.setdefault((data.pop("name"), data.pop("version")), []).append(EvalSetScore(**data))
    return {k: tuple(v) for k, v in out.items()}


def further_columns(scores: Iterable[tuple[EvalSetScore, ...]]) -> list[str]:
    """The further (non-primary) eval sets in a page, by key: one leaderboard column each."""
    return sorted({s.dataset_key for group in scores for s in group if not s.is_primary})
