"""`evaluation_spec`, its blocking `evaluation_lock` check, and `lock_passed_in_run` for the guards behind it."""

import json

import dagster as dg

from tunix_rt_pipelines.lib.evaluation import lock, spec
from tunix_rt_pipelines.resources.storage import ProjectStorage

SPEC_KEY = "evaluation_spec"


@dg.asset(group_name="evaluation", kinds={"python"})
def evaluation_spec() -> dg.MaterializeResult:
    """The answer_correctness metric spec as data, versioned by the hash of its rules and behaviour."""
    live = lock.spec_sha256(spec.SPEC)
    pinned = lock.read_lock()
    return dg.MaterializeResult(
        data_version=dg.DataVersion(live),
        metadata={
            "evaluator": spec.metric_id(),
            "sha256": live,
            "pinned_sha256": pinned.sha256 if pinned else "none",
            "spec": dg.MetadataValue.json(json.loads(json.dumps(spec.SPEC))),
        },
    )


def spec_sha256_of(context, storage: ProjectStorage) -> str:
    """The spec hash `evaluation_spec` recorded (in this run, else its latest materialization)."""
    return str(storage.upstream_metadata(context, SPEC_KEY)["sha256"].value)


@dg.asset_check(asset=evaluation_spec, blocking=True,
                description="The live metric spec hashes to the pinned lock; scores are only comparable under one set of rules.")
def evaluation_lock(context: dg.AssetCheckExecutionContext, storage: ProjectStorage) -> dg.AssetCheckResult:
    status = lock.check_lock()
    materialized = spec_sha256_of(context, storage)
    # The asset's own hash must also be the live one: a stale spec materialization cannot pass.
    passed = status.passed and materialized == status.live.sha256
    return dg.AssetCheckResult(
        passed=passed,
        description=status.message,
        metadata={
            "observed_sha256": materialized,
            "expected_sha256": status.pinned.sha256 if status.pinned else "none",
            "observed_version": status.live.version,
            "expected_version": status.pinned.version if status.pinned else -1,
            "how_to_fix": lock.PIN_COMMAND if not passed else "nothing to do",
        },
    )


def lock_passed_in_run(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether `evaluation_lock` was evaluated, and passed, in run `run_id` (an earlier run's result does not count).

    The guards downstream of the lock (the registry's promotion check, `tuning_sweep`) ask this.
    """
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = [r.event_log_entry.dagster_event.asset_check_evaluation_data for r in records if r.event_log_entry.dagster_event]
    return any(e.asset_check_key == evaluation_lock.check_key and e.passed for e in evaluations)
