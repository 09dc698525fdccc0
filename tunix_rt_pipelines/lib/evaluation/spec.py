"""answer_correctness@v1 as data: the frozen, versioned rules of the project's one metric.

The implementation in `metrics.py` reads its parameters from this dict, and `lock.py` hashes
the dict together with the metric's answers on a fixed set of probe cases. Changing a rule, here
or in the code, changes the hash, and the blocking `evaluation_lock` check stops every
evaluation and sweep until the version is bumped and the lock re-pinned
(`uv run tunix-rt pin-evaluation`). `docs/evaluation.md` restates the rules for humans.
"""

from __future__ import annotations

from typing import Any

METRIC_NAME = "answer_correctness"
METRIC_VERSION = 1

SPEC: dict[str, Any] = {
    "metric": METRIC_NAME,
    "version": METRIC_VERSION,
    "scale": {"item": [0, 1], "aggregate": [0.0, 1.0], "higher_is_better": True},
    "extraction": {
        # Text after the LAST "Answer:" (any case) up to the end of that line;
        # with no marker, the last non-empty line of the prediction.
        "marker": "Answer:",
        "marker_case_sensitive": False,
        "occurrence": "last",
        "until": "end_of_line",
        "fallback": "last_non_empty_line",
    },
    "normalization": {
        # Applied to the extracted prediction and the ground truth alike, in this order.
        "unicode_form": "NFKC",
        "casefold": True,
        "trim": True,
        "collapse_whitespace": True,
        # Repeated until nothing changes: a matching pair of these around the text is removed...
        "strip_surrounding": ["\"", "'", "`"],
        # ...and any of these at the end.
        "strip_trailing": ".!?;",
    },
    "numeric": {
        # Both sides parse as numbers (after dropping a leading "$" and "," thousands
        # separators) -> compared as decimals (42.0 = 42, 1,000 = 1000, $31.50 = $31.5).
        "strip_leading": "$",
        "thousands_separator": ",",
        # ASCII digits only: "٤٢" (Arabic-Indic) is text, not 42.
        "pattern": r"^[+-]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)?(\.[0-9]+)?$",
        "compare_as": "decimal",
    },
    "failure_handling": {
        "missing": {"score": 0, "reason": "missing"},
        "empty": {"score": 0, "reason": "empty"},
    },
    "aggregation": {
        "mean_over": "all_dataset_items",  # a missing prediction counts as 0
        "interval": {"method": "wilson", "confidence": 0.95},
        "breakdowns": ["category", "difficulty"],
    },
    # How "best" is decided among evaluated candidates (registry promotion, sweeps):
    # higher score, then higher lower CI bound, then more items, then the earlier candidate.
    "best": {"order": [["score", "desc"], ["ci95_low", "desc"], ["n", "desc"], ["created_at", "asc"]]},
}


def metric_id(spec: dict[str, Any] = SPEC) -> str:
    """`answer_correctness@v1`."""
    return f"{spec['metric']}@v{spec['version']}"
