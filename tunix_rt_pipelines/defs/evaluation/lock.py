"""The evaluation lock: the pinned sha256 of answer_correctness and how to re-pin it.

The hash covers the spec dict *and* the metric's behaviour: what `score_item` answers on a
fixed set of probe cases and what the aggregation gives for a few counts. So an edit to a rule
in `spec.py`, or a code change in `metrics.py`/`stats.py` that alters any answer, changes the
hash, and the blocking `evaluation_lock` check fails until the version is bumped and re-pinned.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.defs.evaluation.metrics import score_item
from tunix_rt_pipelines.defs.evaluation.spec import SPEC, metric_id
from tunix_rt_pipelines.defs.evaluation.stats import mcnemar_exact, wilson_interval
from tunix_rt_pipelines.files import atomic_write_text

LOCK_FILE = Path(__file__).with_name("answer_correctness.lock.json")
PIN_COMMAND = "uv run tunix-rt pin-evaluation"

# (prediction, ground truth): each probe pins one rule. Extending this list changes the hash,
# like any other change to the metric, and so needs a version bump.
PROBES: tuple[tuple[str | None, str], ...] = (
    ("Answer: 42", "42"),
    ("answer: 42", "42"),                        # marker in any case
    ("Answer: 1\nAnswer: 2", "2"),               # last marker wins
    ("Answer: 7\nmore text", "7"),               # up to the end of that line
    ("steps\n\n  13  \n\n", "13"),               # no marker: last non-empty line
    ("42.0", "42"),                              # decimal comparison
    ("1,000", "1000"),                           # thousands separator
    ("$31.50", "$31.5"),                         # leading dollar
    ("1,00", "100"),                             # bad grouping is not a number
    ("-5", "-5.00"),
    ("'olleh'", "olleh"),                        # surrounding quotes
    ("`abc`.", "abc"),                           # backticks and trailing period
    ("\"Yes!\"", "yes"),                         # quotes, case, trailing "!"
    ("Paris;", "paris"),
    ("ｆｕｌｌ　ｗｉｄｔｈ", "full width"),        # NFKC
    ("STRASSE", "straße"),                       # case-folding
    ("a   b\tc", "a b c"),                       # whitespace runs
    ("Answer:", "x"),                            # empty extraction
    ("   ", "x"),
    (None, "x"),                                 # missing prediction
    ("1e3", "1000"),                             # exponents are not numbers
    ("abc", "abd"),
)
AGGREGATION_PROBES: tuple[tuple[int, int], ...] = ((0, 10), (5, 10), (10, 10), (37, 100))


def behaviour_fingerprint(spec: dict[str, Any] = SPEC) -> list[Any]:
    """What the metric answers on the probes: the part of the hash that catches code changes."""
    items = [list(map(str, (r.extracted, r.correct, r.reason))) for r in (score_item(f"p{i}", truth, pred, spec) for i, (pred, truth) in enumerate(PROBES))]
    confidence = spec["aggregation"]["interval"]["confidence"]
    intervals = [[round(x, 9) for x in wilson_interval(c, n, confidence)] for c, n in AGGREGATION_PROBES]
    return [items, intervals, round(mcnemar_exact(9, 1), 12)]


def spec_sha256(spec: dict[str, Any] = SPEC) -> str:
    """sha256 of the spec and its behaviour fingerprint, in canonical JSON."""
    payload = {"spec": spec, "behaviour": behaviour_fingerprint(spec)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Lock:
    metric: str
    version: int
    sha256: str


def read_lock(path: Path | None = None) -> Lock | None:
    """The pinned lock, or None when the file is missing."""
    path = path or LOCK_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Lock(metric=data["metric"], version=int(data["version"]), sha256=data["sha256"])


@dataclass(frozen=True)
class LockStatus:
    passed: bool
    live: Lock
    pinned: Lock | None
    message: str


def check_lock(spec: dict[str, Any] = SPEC, path: Path | None = None) -> LockStatus:
    """Compare the live spec with the pinned lock; the message says what to do when they differ."""
    path = path or LOCK_FILE
    live = Lock(spec["metric"], spec["version"], spec_sha256(spec))
    pinned = read_lock(path)
    if pinned is None:
        return LockStatus(False, live, None, f"no lock file at {path.name}; run `{PIN_COMMAND}` and commit it")
    if pinned == live:
        return LockStatus(True, live, pinned, f"{metric_id(spec)} matches the pinned hash {live.sha256[:12]}")
    if pinned.version == live.version:
        message = (
            f"{metric_id(spec)} drifted: the live spec hashes to {live.sha256[:12]} but v{pinned.version} is pinned at "
            f"{pinned.sha256[:12]}. Scores from different rules are not comparable. If the change is intended, "
            f"bump METRIC_VERSION in tunix_rt_pipelines/defs/evaluation/spec.py, run `{PIN_COMMAND}` and commit "
            "the lock; otherwise revert the change."
        )
    else:
        message = (
            f"the live spec is {metric_id(spec)} but v{pinned.version} is pinned; run `{PIN_COMMAND}` to pin the new "
            "version and commit the lock file"
        )
    return LockStatus(False, live, pinned, message)


class PinRefused(Exception):
    """Re-pinning would silently change the meaning of a version already pinned."""


def pin(spec: dict[str, Any] = SPEC, path: Path | None = None) -> Lock:
    """Write the live spec's hash to the lock file.

    Raises:
        PinRefused: The spec changed but its version did not: bump the version first.
    """
    path = path or LOCK_FILE
    status = check_lock(spec, path)
    if status.passed:
        return status.live
    if status.pinned is not None and status.pinned.version == status.live.version:
        raise PinRefused(
            f"{metric_id(spec)} changed but its version did not; bump METRIC_VERSION in "
            "tunix_rt_pipelines/defs/evaluation/spec.py first (scores under the old rules keep their meaning)"
        )
    live = status.live
    text = json.dumps({"metric": live.metric, "version": live.version, "sha256": live.sha256}, indent=2) + "\n"
    atomic_write_text(path, text)
    return live
