"""golden-v1-calibration: labelled candidate answers for calibrating a judge before it may score.

Built from golden-v1, deterministically: for every other golden item, four candidates.

| variant | candidate | label |
|---|---|---|
| exact | `Answer: <the golden answer>` | correct |
| paraphrase | the golden answer inside a sentence (`The answer is 42.`) | correct |
| wrong | `Answer: <another item's answer>` (same category, a different value) | incorrect |
| wrong_paraphrase | that wrong answer inside a sentence | incorrect |

The labels follow from how each candidate is made (`labelled_by: construction`): a candidate
states the golden answer or a different one. No person graded these rows; what that means for
the calibration figures is said in the dataset's README and in docs/evaluation.md.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tunix_rt_pipelines.lib.datasets.contract import GOLDEN_KEY, CalibrationItem, EvalItem
from tunix_rt_pipelines.lib.datasets.generate import make_manifest, manifest_bytes
from tunix_rt_pipelines.lib.datasets.reader import ITEMS_FILE, MANIFEST_FILE, canonical_jsonl
from tunix_rt_pipelines.lib.evaluation.metrics import score_item
from tunix_rt_pipelines.lib.files import atomic_write_bytes

CALIBRATION_KEY = "golden-v1-calibration"
LABELLED_BY = "construction"
PARAPHRASES = ("The answer is {a}.", "After working it out, I get {a}.", "That comes to {a}.", "I am sure it is {a}.")


def _same(a: str, b: str) -> bool:
    return score_item("x", a, f"Answer: {b}").correct


def build_calibration(golden: list[EvalItem]) -> list[CalibrationItem]:
    """Four labelled candidates for every other golden item (see the module docstring)."""
    by_category: dict[str, list[EvalItem]] = defaultdict(list)
    for item in golden:
        by_category[item.category].append(item)
    rows = []
    for index, item in enumerate(golden[::2]):
        peers = by_category[item.category]
        start = peers.index(item)
        wrong = next(p.ground_truth for p in peers[start + 1:] + peers[:start] if not _same(item.ground_truth, p.ground_truth))
        template = PARAPHRASES[index % len(PARAPHRASES)]
        for variant, candidate, label in (("exact", f"Answer: {item.ground_truth}", "correct"),
                                          ("paraphrase", template.format(a=item.ground_truth), "correct"),
                                          ("wrong", f"Answer: {wrong}", "incorrect"),
                                          ("wrong_paraphrase", template.format(a=wrong), "incorrect")):
            rows.append(CalibrationItem(id=f"{item.id}-{variant.replace('_', '-')}", item_id=item.id, prompt=item.prompt,
                                        ground_truth=item.ground_truth, candidate=candidate, label=label, variant=variant,
                                        labelled_by=LABELLED_BY, category=item.category, difficulty=item.difficulty))
    return rows


def calibration_files(golden: list[EvalItem]) -> dict[str, bytes]:
    """`items.jsonl` and `manifest.json` of golden-v1-calibration, as bytes."""
    rows = build_calibration(golden)
    manifest = make_manifest(CALIBRATION_KEY, "calibration", rows, 0, {"from": GOLDEN_KEY, "labelled_by": LABELLED_BY})
    return {ITEMS_FILE: canonical_jsonl(rows), MANIFEST_FILE: manifest_bytes(manifest)}


def write_calibration(folder: Path, golden: list[EvalItem]) -> None:
    """Write the calibration set into `folder` (the shipped copy lives in builtin_datasets/)."""
    for name, data in calibration_files(golden).items():
        atomic_write_bytes(folder / name, data)
