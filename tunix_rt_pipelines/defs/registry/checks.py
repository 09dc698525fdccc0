"""The promotion guards as blocking checks on `promotion_candidate` (before anything is written).

Each check runs the same guard functions `promote()` runs (`rules.py`). A failure blocks
`registered_model` (ERROR) unless the candidate was forced and the failure is overridable; then
it is reported as WARN and the override is recorded on the version.
"""

import dagster as dg

from tunix_rt_pipelines.defs.evaluation.lock_check import lock_passed_in_run
from tunix_rt_pipelines.defs.registry.assets import load_candidate, promotion_candidate
from tunix_rt_pipelines.lib.registry.candidate import PromotionCandidate
from tunix_rt_pipelines.lib.registry.rules import (
    GUARD_LOCK,
    GuardFailure,
    artifact_failures,
    further_sets,
    golden_failures,
    load_evaluation,
    lock_failures,
)
from tunix_rt_pipelines.resources.model_registry import ModelRegistryResource
from tunix_rt_pipelines.resources.storage import ProjectStorage

LOCK_CHECK = "promotion_candidate_lock_passed"
GOLDEN_CHECK = "promotion_candidate_on_pinned_golden"
ARTIFACTS_CHECK = "promotion_candidate_artifacts_match"


def guard_result(candidate: PromotionCandidate, failures: list[GuardFailure], passed_description: str) -> dg.AssetCheckResult:
    if not failures:
        return dg.AssetCheckResult(passed=True, description=passed_description, metadata={"forced": candidate.forced})
    blocking = [f for f in failures if not (candidate.forced and f.overridable)]
    note = "" if blocking else "\n(overridden by force=True; recorded on the version, which will not become champion)"
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description="\n".join(f.message for f in failures) + note,
        metadata={"failures": dg.MetadataValue.json([f.to_dict() for f in failures]), "forced": candidate.forced,
                  "checkpoint": dg.MetadataValue.path(candidate.checkpoint_path)},
    )


@dg.asset_check(asset=promotion_candidate, name=LOCK_CHECK, blocking=True,
                description="evaluation_lock passed in this run and the candidate was scored under the pinned spec hash.")
def promotion_candidate_lock_passed(context: dg.AssetCheckExecutionContext, storage: ProjectStorage,
                                    model_registry: ModelRegistryResource) -> dg.AssetCheckResult:
    candidate = load_candidate(context, storage)
    failures = lock_failures(candidate, model_registry.pins())
    if not lock_passed_in_run(context.instance, context.run.run_id):
        failures.insert(0, GuardFailure(GUARD_LOCK, f"evaluation_lock did not pass in this run ({context.run.run_id}); "
                                                    "materialize evaluation_spec in the same run (base_vs_trained_job does)", True))
    return guard_result(candidate, failures, "the evaluation lock passed in this run; the candidate used the pinned spec")


@dg.asset_check(asset=promotion_candidate, name=GOLDEN_CHECK, blocking=True,
                description="The candidate's evaluation exists, agrees with it, and ran on the pinned golden-v1 hash with the pinned evaluator; "
                            "so does each further declared eval set's, on the hash its manifest pins.")
def promotion_candidate_on_pinned_golden(context: dg.AssetCheckExecutionContext, storage: ProjectStorage,
                                         model_registry: ModelRegistryResource) -> dg.AssetCheckResult:
    candidate = load_candidate(context, storage)
    _, failures = load_evaluation(candidate)
    pins = model_registry.pins()
    failures += golden_failures(candidate, pins) + further_sets(candidate, pins)[0]
    also = "".join(f", {f.dataset_key} {f.dataset_sha256[:12]}" for f in candidate.further)
    return guard_result(candidate, failures, f"evaluated on {pins.dataset_key} {pins.dataset_sha256[:12]}{also} by {pins.evaluator}")


@dg.asset_check(asset=promotion_candidate, name=ARTIFACTS_CHECK, blocking=True,
                description="The checkpoint exists, is safe to load, and hashes to the model the evaluation scored.")
def promotion_candidate_artifacts_match(context: dg.AssetCheckExecutionContext, storage: ProjectStorage) -> dg.AssetCheckResult:
    candidate = load_candidate(context, storage)
    evaluation, _ = load_evaluation(candidate)
    failures = artifact_failures(candidate, evaluation)
    return guard_result(candidate, failures, f"{candidate.checkpoint_path} hashes to {candidate.checkpoint_sha256[:12]}, "
                                             "the model the evaluation scored")
