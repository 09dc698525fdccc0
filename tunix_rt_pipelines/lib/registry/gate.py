"""The regression gate: is a candidate better than the champion?

"Better" is the same paired test `base_vs_trained` uses: on the items both evaluations share,
the candidate must score higher and McNemar's exact test on the flipped items must give
p < `compare.SIGNIFICANCE_LEVEL`. A fixed percentage would promote noise on 100 items and miss
real gains on larger sets; the paired test does neither. Promotion moves the `champion` alias
only when the gate says `better`.

Promotion compares only versions scored on the same primary eval set (key and content sha256,
recorded on every version). A champion scored on another primary set (the project declared a new
one in `tunix_rt.yaml`) is no incumbent on this basis: no test runs, and the verdict says so
(`other_primary` names the champion's set) while the candidate takes the alias.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tunix_rt_pipelines.lib.evaluation.compare import SIGNIFICANCE_LEVEL, compare

CHAMPION = "champion"


@dataclass(frozen=True)
class GateVerdict:
    better: bool  # the candidate should become champion
    reason: str
    champion_version: int | None = None
    candidate_score: float | None = None
    champion_score: float | None = None
    delta: float | None = None
    p_value: float | None = None
    fixed: int | None = None  # wrong for the champion, right for the candidate
    broken: int | None = None  # right for the champion, wrong for the candidate
    n: int | None = None
    significance_level: float = SIGNIFICANCE_LEVEL
    other_primary: str | None = None  # "<key> <sha256>" of a champion scored on another primary set (not compared)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def regression_gate(candidate: dict[str, Any] | None, champion: dict[str, Any] | None, *, champion_version: int | None,
                    forced: bool = False, champion_primary: tuple[str, str] | None = None) -> GateVerdict:
    """Decide whether a candidate replaces the champion.

    Args:
        candidate: The candidate's evaluation.json payload (None: no usable evaluation).
        champion: The champion's evaluation payload (None with `champion_version` None: no
            champion yet; None with a version: its evaluation is unavailable).
        champion_version: The champion's version number, or None.
        forced: The candidate was registered by overriding a guard.
        champion_primary: The champion's recorded primary eval set `(key, sha256)`; when it differs from
            the candidate's, there is no incumbent on the candidate's primary set.

    Returns:
        The verdict; `better` is True only for a usable, unforced candidate that either has no
        champion to beat or beats it significantly on paired items of the same dataset and evaluator.
    """
    score = candidate.get("score") if candidate else None
    if forced:
        return GateVerdict(False, "forced versions never become champion automatically", champion_version, score)
    if candidate is None:
        return GateVerdict(False, "no usable evaluation to compare", champion_version)
    if champion_version is None:
        return GateVerdict(True, "no champion yet", None, score)
    mine = (str(candidate.get("dataset_key")), str(candidate.get("dataset_sha256")))
    if champion_primary is not None and tuple(champion_primary) != mine:
        theirs = f"{champion_primary[0]} {champion_primary[1]}"
        return GateVerdict(True, f"no incumbent on the primary eval set {mine[0]} {mine[1][:12]}: the champion v{champion_version} was "
                                 f"scored on {champion_primary[0]} {champion_primary[1][:12]}, a different primary set, so the two are not "
                                 "compared; this version becomes champion", champion_version, score, other_primary=theirs)
    if champion is None:
        return GateVerdict(False, f"the champion v{champion_version} has no usable evaluation to compare against; "
                                  "move the alias by hand if it should be replaced", champion_version, score)
    for key in ("dataset_sha256", "evaluator", "spec_sha256"):
        if candidate.get(key) != champion.get(key):
            return GateVerdict(False, f"not comparable: {key} differs from the champion v{champion_version}'s", champion_version,
                               score, champion.get("score"))
    try:
        result = compare(champion, candidate)
    except (ValueError, KeyError) as exc:
        return GateVerdict(False, f"not comparable: {exc}", champion_version, score, champion.get("score"))
    better = result.significant_improvement
    verdict = (f"better than champion v{champion_version}" if better else
               f"not significantly better than champion v{champion_version}")
    return GateVerdict(better, f"{verdict} (delta {result.delta:+.3f}, McNemar p={result.p_value:.4f}, "
                               f"{result.fixed} fixed / {result.broken} broken)", champion_version, result.trained_score,
                       result.base_score, result.delta, result.p_value, result.fixed, result.broken, result.n)
