"""The promotion guards, as plain functions shared by the Dagster checks and `promote()`.

Each guard returns the `GuardFailure`s it finds (empty = passed):

- `evaluation_lock`: the live metric spec matches the pinned lock and the candidate was scored
  under that pinned hash.
- `pinned_golden` (name kept for run history): the evaluation ran on the primary eval set (golden-v1
  unless `tunix_rt.yaml` declares another) with the hash its manifest pins, and the pinned evaluator version.
- `evaluation`: the evaluation exists, is readable and says what the candidate claims.
- `artifacts`: the checkpoint folder exists, is loadable-safe, hashes to the declared sha256 and
  to the model the evaluation saw.
- `run`: the run (or sweep trial) that produced the candidate did not fail.
- `eval_sets`: each further declared eval set's evaluation is readable, says what the candidate
  claims for it, scored this checkpoint under the pinned evaluator and spec, on the hash that set's
  manifest pins, and is on a set of its own (not the primary's, not twice). A set that fails is not recorded when force overrides it.

`force=True` overrides a failure only when it is `overridable` (a failed run, or an absent, failed
or foreign evaluation), and the version records which ones. Missing or changed artifacts are
never overridable: the registry cannot store files it does not have.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.environment import project_datasets_dir
from tunix_rt_pipelines.lib.datasets.declared import declared_datasets
from tunix_rt_pipelines.lib.datasets.reader import MANIFEST_FILE
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.models.loading import ModelLoadError, check_model_folder, folder_sha256
from tunix_rt_pipelines.lib.registry.candidate import PromotionCandidate, SetEvaluation

GUARD_LOCK, GUARD_GOLDEN, GUARD_EVALUATION, GUARD_ARTIFACTS, GUARD_RUN, GUARD_EVAL_SETS = (
    "evaluation_lock", "pinned_golden", "evaluation", "artifacts", "run", "eval_sets")


@dataclass(frozen=True)
class GuardFailure:
    guard: str
    message: str
    overridable: bool

    def to_dict(self) -> dict[str, Any]:
        return {"guard": self.guard, "message": self.message, "overridable": self.overridable}


@dataclass(frozen=True)
class Pins:
    """What a registrable evaluation must match: the evaluation lock and the primary eval set's manifest."""

    evaluator: str  # answer_correctness@v1, from the lock file
    spec_sha256: str  # the pinned hash ("" without a lock file)
    lock_passed: bool  # the live spec hashes to the pinned one
    lock_message: str
    dataset_key: str
    dataset_sha256: str  # from <dir>/<primary key>/manifest.json ("" when unreadable)
    dataset_source: str  # that manifest's path, for messages
    # Where a further eval set's manifest pins its hash (`<dir>/<key>/manifest.json`, first found): the registry's
    # datasets folder, then the project's own (`./datasets` or $TUNIX_RT_DATASETS_DIR, where imports go).
    dataset_dirs: tuple[str, ...] = ()


def current_pins(datasets_dir: Path, primary: str | None = None) -> Pins:
    """The pins in force: the evaluation lock file and the primary eval set's manifest (`primary`, default: the declared
    one), looked up like every set's (`pinned_sha256`: `datasets_dir`, then the project's datasets folder)."""
    status = lock.check_lock()
    pinned = status.pinned
    key = primary or declared_datasets().primary
    dirs = tuple(dict.fromkeys([str(datasets_dir), str(project_datasets_dir())]))
    dataset_sha256, source = pinned_sha256(dirs, key)
    return Pins(evaluator=f"{pinned.metric}@v{pinned.version}" if pinned else "", spec_sha256=pinned.sha256 if pinned else "",
                lock_passed=status.passed, lock_message=status.message, dataset_key=key,
                dataset_sha256=dataset_sha256, dataset_source=source, dataset_dirs=dirs)


def pinned_sha256(dataset_dirs: tuple[str, ...], key: str) -> tuple[str, str]:
    """The registry's pinned hash of eval set `key`: the one lookup for the primary and every further set.

    The content hash the first `<dir>/<key>/manifest.json` pins ("" when none is readable), and where it
    was found (or every place it looked)."""
    paths = [Path(d) / key / MANIFEST_FILE for d in dataset_dirs]
    for path in paths:
        try:
            return str(json.loads(path.read_text())["sha256"]), str(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return "", " or ".join(map(str, paths)) or f"{key}/{MANIFEST_FILE}"


def lock_failures(candidate: PromotionCandidate, pins: Pins) -> list[GuardFailure]:
    out = []
    if not pins.lock_passed:
        out.append(GuardFailure(GUARD_LOCK, f"the evaluation lock does not pass: {pins.lock_message}", True))
    if candidate.spec_sha256 != pins.spec_sha256:
        out.append(GuardFailure(GUARD_LOCK, f"the candidate was scored under spec {candidate.spec_sha256[:12] or 'none'}, "
                                            f"not the pinned {pins.spec_sha256[:12] or 'none'}; re-evaluate it under the lock", True))
    return out


def golden_failures(candidate: PromotionCandidate, pins: Pins) -> list[GuardFailure]:
    out = []
    if not pins.dataset_sha256:
        out.append(GuardFailure(GUARD_GOLDEN, f"no pinned {pins.dataset_key} hash: {pins.dataset_source} is missing or has no sha256", True))
    elif (candidate.dataset_key, candidate.dataset_sha256) != (pins.dataset_key, pins.dataset_sha256):
        out.append(GuardFailure(GUARD_GOLDEN, f"evaluated on {candidate.dataset_key} {candidate.dataset_sha256[:12]}, not the pinned "
                                              f"{pins.dataset_key} {pins.dataset_sha256[:12]}; evaluate on {pins.dataset_key}, the primary eval set", True))
    if candidate.evaluator != pins.evaluator:
        out.append(GuardFailure(GUARD_GOLDEN, f"judged by {candidate.evaluator or 'no evaluator'}, not the pinned "
                                              f"{pins.evaluator or '(no lock file)'}", True))
    return out


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _disagreements(candidate: PromotionCandidate | SetEvaluation, payload: dict[str, Any]) -> list[str]:
    """Where evaluation.json says something other than the candidate (or a further set's claims)."""
    claims = {"evaluator": candidate.evaluator, "spec_sha256": candidate.spec_sha256, "dataset_key": candidate.dataset_key,
              "dataset_sha256": candidate.dataset_sha256}
    out = [f"{k} {payload.get(k)!r} != {v!r}" for k, v in claims.items() if payload.get(k) != v]
    m = candidate.metrics
    if m is None:
        return out + ["the candidate has no metrics snapshot"]
    items = payload.get("items") or []
    if not _same(float(payload.get("score", math.nan)), m.score):
        out.append(f"score {payload.get('score')} != {m.score}")
    if (payload.get("n"), payload.get("correct")) != (m.n, m.correct) or len(items) != m.n or sum(bool(i.get("correct")) for i in items) != m.correct:
        out.append(f"n/correct {payload.get('n')}/{payload.get('correct')} ({len(items)} items) != {m.n}/{m.correct}")
    if len(payload.get("ci95") or []) != 2 or not all(_same(a, b) for a, b in zip(payload["ci95"], m.ci95, strict=True)):
        out.append(f"ci95 {payload.get('ci95')} != {list(m.ci95)}")
    if payload.get("by_category") != m.by_category:
        out.append("by_category differs")
    return out


def load_evaluation(candidate: PromotionCandidate | SetEvaluation, guard: str = GUARD_EVALUATION) -> tuple[dict[str, Any] | None, list[GuardFailure]]:
    """The candidate's (or a further set's) evaluation.json when it is present and agrees with its claims."""
    if not candidate.evaluation_path:
        return None, [GuardFailure(guard, "no evaluation: the candidate has no evaluation.json", True)]
    path = Path(candidate.evaluation_path)
    try:
        payload = json.loads(path.read_text())
    except OSError as exc:
        return None, [GuardFailure(guard, f"evaluation {path} cannot be read ({exc.strerror}); the evaluation is absent", True)]
    except ValueError as exc:
        return None, [GuardFailure(guard, f"evaluation {path} is not valid JSON ({exc}); the evaluation failed", True)]
    if not isinstance(payload, dict):
        return None, [GuardFailure(guard, f"evaluation {path} is not a JSON object; the evaluation failed", True)]
    problems = _disagreements(candidate, payload)
    if problems:
        return None, [GuardFailure(guard, f"evaluation {path} does not match the candidate: {'; '.join(problems)}", True)]
    return payload, []


def further_sets(candidate: PromotionCandidate, pins: Pins) -> tuple[list[GuardFailure], list[tuple[SetEvaluation, dict[str, Any]]]]:
    """The `eval_sets` guard: failures, and the further sets' evaluations fit to record (with their payloads)."""
    failures, usable, seen = [], [], {candidate.dataset_key}
    for further in candidate.further:
        payload, problems = load_evaluation(further, GUARD_EVAL_SETS)
        key = further.dataset_key or further.evaluation_path
        if payload is not None:
            if further.dataset_key in seen:
                problems.append(GuardFailure(GUARD_EVAL_SETS, f"{key}: evaluated twice, or it is the primary set; each further set once", True))
            if payload.get("model_sha256") != candidate.checkpoint_sha256:
                problems.append(GuardFailure(GUARD_EVAL_SETS, f"{key}: the evaluation scored model {str(payload.get('model_sha256'))[:12]}, "
                                                              f"not this checkpoint ({candidate.checkpoint_sha256[:12]})", True))
            pinned, where = pinned_sha256(pins.dataset_dirs, further.dataset_key) if further.dataset_key else ("", "no dataset key")
            if further.dataset_sha256 != pinned:
                problems.append(GuardFailure(GUARD_EVAL_SETS, f"{key}: evaluated on {further.dataset_sha256[:12] or 'no hash'}, but "
                                                              f"{where} pins {pinned[:12] or 'nothing (missing)'}; evaluate on the dataset as imported", True))
            if (further.evaluator, further.spec_sha256) != (pins.evaluator, pins.spec_sha256):
                problems.append(GuardFailure(GUARD_EVAL_SETS, f"{key}: judged by {further.evaluator or 'no evaluator'} spec "
                                                              f"{further.spec_sha256[:12] or 'none'}, not the pinned {pins.evaluator or '(no lock file)'} "
                                                              f"{pins.spec_sha256[:12] or 'none'}; re-evaluate it under the lock", True))
        seen.add(further.dataset_key)
        failures += problems
        if payload is not None and not problems:
            usable.append((further, payload))
    return failures, usable


def artifact_failures(candidate: PromotionCandidate, evaluation: dict[str, Any] | None) -> list[GuardFailure]:
    """The checkpoint exists, is safe to load, hashes to its declared sha256 and to what the evaluation saw."""
    folder = Path(candidate.checkpoint_path)
    try:
        check_model_folder(folder)
    except ModelLoadError as exc:
        return [GuardFailure(GUARD_ARTIFACTS, f"checkpoint unusable: {exc}", False)]
    got = folder_sha256(folder)
    if got != candidate.checkpoint_sha256:
        return [GuardFailure(GUARD_ARTIFACTS, f"{folder} hashes to {got[:12]}, not the declared {candidate.checkpoint_sha256[:12]}; "
                                              "the checkpoint changed after it was described", False)]
    if evaluation is not None and evaluation.get("model_sha256") != got:
        return [GuardFailure(GUARD_ARTIFACTS, f"the evaluation scored model {str(evaluation.get('model_sha256'))[:12]}, "
                                              f"not this checkpoint ({got[:12]}); evaluate this checkpoint", True)]
    return []


def run_failures(candidate: PromotionCandidate) -> list[GuardFailure]:
    if candidate.run_failed:
        return [GuardFailure(GUARD_RUN, f"run {candidate.run_id or '(unknown)'} that produced {candidate.source_asset} failed", True)]
    return []


def all_failures(candidate: PromotionCandidate, pins: Pins) -> tuple[list[GuardFailure], dict[str, Any] | None]:
    """Every guard's failures, and the evaluation payload when it may be snapshotted.

    The evaluation is kept only when it is present, consistent and scored this checkpoint;
    otherwise a forced version stores no metrics (they would describe something else).
    """
    evaluation, failures = load_evaluation(candidate)
    artifacts = artifact_failures(candidate, evaluation)
    failures = (artifacts + failures + lock_failures(candidate, pins) + golden_failures(candidate, pins) + run_failures(candidate)
                + further_sets(candidate, pins)[0])
    if artifacts:
        evaluation = None
    return failures, evaluation


def refusal_message(candidate: PromotionCandidate, failures: list[GuardFailure], force: bool) -> str:
    """One readable message for a refused promotion."""
    lines = [f"refused to promote {candidate.checkpoint_path} as {candidate.model_name}:"]
    lines += [f"  - [{f.guard}] {f.message}{'' if f.overridable else ' (force cannot override this)'}" for f in failures]
    if not force and all(f.overridable for f in failures):
        lines.append("  pass force=True (recorded on the version) to register it anyway; it will not become champion")
    return "\n".join(lines)
