"""A sweep's results: one record per trial, the best trial by the spec's rule, the table and the plot.

"Best" follows `SPEC["best"]` of the locked evaluation spec (higher score, then higher lower CI
bound, then more items, then the earlier trial), ranked by the registry's own `best.rank`, so
sweeps and the registry compare candidates by one rule. Only succeeded trials take part: a failed
trial has no score, not a score of 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.evaluation.best import pick_best
from tunix_rt_pipelines.lib.evaluation.best import rank as rank_by_spec
from tunix_rt_pipelines.lib.evaluation.spec import SPEC

SUCCEEDED, FAILED, UNFINISHED = "succeeded", "failed", "unfinished"
RESULTS_FILE = "sweep_results.json"
PLOT_FILE = "metric_by_trial.png"


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the sweep reports it."""

    trial_id: str
    index: int  # creation order within the sweep (the `_NNNNN` suffix of Ray's trial id)
    status: str  # succeeded | failed | unfinished
    params: dict[str, Any]
    score: float | None = None  # answer_correctness; None unless succeeded
    ci95: tuple[float, float] | None = None
    n: int | None = None
    final_loss: float | None = None
    duration_s: float | None = None
    attempts: int = 0
    error: str | None = None
    checkpoint_path: str | None = None
    model_sha256: str | None = None
    evaluation_path: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci95"] = list(self.ci95) if self.ci95 else None
        out.pop("metrics")
        return out


def _facts(record: TrialRecord) -> dict[str, Any]:
    """A succeeded trial's values for `SPEC["best"]`'s fields; creation order stands in for `created_at`."""
    return {"score": record.score, "ci95_low": record.ci95[0] if record.ci95 else None, "n": record.n, "created_at": record.index}


def _succeeded(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    return [r for r in records if r.status == SUCCEEDED]


def rank(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Succeeded trials, best first, by the evaluation spec's `best` order."""
    return rank_by_spec(_succeeded(records), _facts)


def best_trial(records: Sequence[TrialRecord]) -> TrialRecord | None:
    """The best succeeded trial, or None when none succeeded."""
    done = _succeeded(records)
    return pick_best(done, _facts) if done else None


def table_rows(records: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """The trial table: params, metric, CI, status, duration (plain values for JSON, UI and CSV)."""
    rows = []
    for r in records:
        rows.append({
            "trial": r.trial_id,
            "status": r.status,
            "params": json.dumps(r.params, sort_keys=True),
            "answer_correctness": round(r.score, 4) if r.score is not None else None,
            "ci95_low": round(r.ci95[0], 4) if r.ci95 else None,
            "ci95_high": round(r.ci95[1], 4) if r.ci95 else None,
            "final_loss": round(r.final_loss, 4) if r.final_loss is not None else None,
            "duration_s": round(r.duration_s, 1) if r.duration_s is not None else None,
            "attempts": r.attempts,
            "error": r.error or "",
        })
    return rows


def results_payload(records: Sequence[TrialRecord], best: TrialRecord | None, **context: Any) -> dict[str, Any]:
    """The content of `sweep_results.json`: the context given (sweep id, inputs, config, lock), the best trial and every trial."""
    return {
        **context,
        "metric": SPEC["metric"],
        "best": best.to_dict() if best else None,
        "counts": {s: sum(r.status == s for r in records) for s in (SUCCEEDED, FAILED, UNFINISHED)},
        "trials": [r.to_dict() for r in records],
    }


def plot_trials(records: Sequence[TrialRecord], path: Path) -> None:
    """answer_correctness by trial with its 95% CI; failed trials marked along the top, never plotted as 0."""
    from tunix_rt_pipelines.lib.plots import ACCENT, MUTED, WARN, chart

    best = best_trial(records)
    ok = [r for r in records if r.status == SUCCEEDED]
    with chart(path, f"{SPEC['metric']} by trial ({len(ok)} of {len(records)} succeeded)", "trial", f"{SPEC['metric']} (95% CI)") as ax:
        if ok:
            ys = [r.score for r in ok]
            low = [r.score - r.ci95[0] for r in ok]
            high = [r.ci95[1] - r.score for r in ok]
            ax.errorbar([r.index for r in ok], ys, yerr=[low, high], fmt="o", color=ACCENT, ecolor=MUTED, capsize=4, label="trial (95% CI)")
        if best is not None:
            ax.plot([best.index], [best.score], marker="*", markersize=16, color="#E8A33D", linestyle="none", label=f"best: {best.trial_id}")
        for r in records:
            if r.status != SUCCEEDED:
                ax.annotate(r.status, (r.index, 1.0), xycoords=("data", "axes fraction"), ha="center", va="top", color=WARN, fontsize=11)
        ax.set_xticks([r.index for r in records])
        ax.set_xlim(-0.5, max((r.index for r in records), default=0) + 0.5)
        ax.set_ylim(0, 1)
        if ok:
            ax.legend(loc="lower right")


def failure_message(records: Sequence[TrialRecord], max_failures: int) -> str | None:
    """Why the sweep fails, or None: more failed trials than allowed, or no trial succeeded."""
    failed = [r for r in records if r.status == FAILED]
    listing = "\n".join(f"  trial {r.trial_id} {json.dumps(r.params, sort_keys=True)}: {r.error}" for r in failed[:10])
    if len(failed) > max_failures:
        return f"{len(failed)} of {len(records)} trials failed, more than max_failures={max_failures}:\n{listing}"
    if not any(r.status == SUCCEEDED for r in records):
        return f"no trial succeeded ({len(records)} trials):\n{listing}"
    return None


def write_results(sweep_dir: Path, payload: dict[str, Any], records: Sequence[TrialRecord]) -> Path:
    """Write `sweep_results.json`, `trials.csv` and the plot into the sweep folder; returns the results path."""
    import csv
    import io

    from tunix_rt_pipelines.lib.files import atomic_write_text

    path = sweep_dir / RESULTS_FILE
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
    rows = table_rows(records)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["trial"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(sweep_dir / "trials.csv", buf.getvalue())
    plot_trials(records, sweep_dir / PLOT_FILE)
    return path
