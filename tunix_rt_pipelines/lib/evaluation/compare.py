"""Paired comparison of two evaluations of the same items: deltas, flips and McNemar's test."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.evaluation.stats import mcnemar_exact

SIGNIFICANCE_LEVEL = 0.05  # for `trained_beats_base` and the registry's regression gate
_EXAMPLES = 5


@dataclass(frozen=True)
class Comparison:
    base_score: float
    trained_score: float
    delta: float
    n: int
    fixed: int  # wrong before, right after
    broken: int  # right before, wrong after
    p_value: float  # exact two-sided McNemar on the paired items
    by_category: dict[str, dict[str, float]]
    fixed_examples: list[dict[str, Any]]
    broken_examples: list[dict[str, Any]]

    @property
    def significant_improvement(self) -> bool:
        return self.delta > 0 and self.p_value < SIGNIFICANCE_LEVEL

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "significant_improvement": self.significant_improvement, "significance_level": SIGNIFICANCE_LEVEL}


def compare(base: dict[str, Any], trained: dict[str, Any]) -> Comparison:
    """Compare two `ScoreReport.to_dict()`s over the same items.

    Raises:
        ValueError: The evaluations do not cover the same item ids, so pairing is impossible.
    """
    before = {i["id"]: i for i in base["items"]}
    after = {i["id"]: i for i in trained["items"]}
    if before.keys() != after.keys():
        raise ValueError(f"evaluations cover different items ({len(before)} vs {len(after)}); compare runs on the same dataset")
    fixed = [i for i in after if after[i]["correct"] and not before[i]["correct"]]
    broken = [i for i in after if before[i]["correct"] and not after[i]["correct"]]

    def example(item_id: str) -> dict[str, Any]:
        return {"id": item_id, "expected": after[item_id]["expected"], "base": before[item_id]["extracted"], "trained": after[item_id]["extracted"]}

    categories = sorted(set(base["by_category"]) | set(trained["by_category"]))
    by_category = {c: {"base": base["by_category"][c]["score"], "trained": trained["by_category"][c]["score"],
                       "delta": trained["by_category"][c]["score"] - base["by_category"][c]["score"],
                       "n": trained["by_category"][c]["n"]} for c in categories}
    return Comparison(
        base_score=base["score"], trained_score=trained["score"], delta=trained["score"] - base["score"], n=len(after),
        fixed=len(fixed), broken=len(broken), p_value=mcnemar_exact(len(fixed), len(broken)), by_category=by_category,
        fixed_examples=[example(i) for i in fixed[:_EXAMPLES]], broken_examples=[example(i) for i in broken[:_EXAMPLES]],
    )


def plot_by_category(comparison: Comparison, path: Path) -> None:
    """Grouped bars of base vs trained score per category, each bar labelled with its score (PNG for the UI)."""
    from tunix_rt_pipelines.lib.plots import ACCENT, MUTED, chart

    cats = list(comparison.by_category)
    xs = range(len(cats))
    title = f"answer_correctness by category: base {comparison.base_score:.2f} -> trained {comparison.trained_score:.2f}"
    with chart(path, title, "category", "answer_correctness (0-1)") as ax:
        for offset, side, color in ((-0.2, "base", MUTED), (0.2, "trained", ACCENT)):
            bars = ax.bar([x + offset for x in xs], [comparison.by_category[c][side] for c in cats], width=0.4, label=side, color=color)
            ax.bar_label(bars, labels=[f"{b.get_height():.2f}" if b.get_height() else "" for b in bars], fontsize=10, padding=2)
        ax.set_xticks(list(xs), [c.replace("_", " ") for c in cats], rotation=20, ha="right", rotation_mode="anchor")
        ax.set_ylim(0, 1.12)
        ax.legend(loc="upper left", ncols=2)
