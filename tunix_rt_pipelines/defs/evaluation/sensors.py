"""Re-scoring when the primary eval set (golden-v1 by default) or the evaluator changes: the sensor that launches `evaluation_refresh_job` (defs/jobs.py).

"Changed" is judged against what the latest evaluations were scored with: each evaluation
records the primary set's content hash and the evaluator's spec hash, and the sensor compares
them with the live ones (a 100-line file and the spec: milliseconds per tick). A new primary
set needs new predictions; a new evaluator only needs new scores. Every run includes the primary set
and evaluation_spec, so their blocking checks (data contract, evaluation lock) run first and
stop the evaluations when they fail: a changed metric that is not re-pinned never scores anything.

The run key is the live state (the primary set's items, its manifest, evaluator, pinned lock), so a
failed refresh is retried only after something changes (e.g. the lock is re-pinned).
STOPPED by default; switch it on in the UI (Automation).
"""

import dagster as dg

from tunix_rt_pipelines.defs.datasets.checks import extra_eval_set_checks, golden_v1_checks
from tunix_rt_pipelines.defs.evaluation.assets import PRIMARY, base_evaluation, base_vs_trained, trained_evaluation
from tunix_rt_pipelines.defs.evaluation.lock_check import evaluation_lock, evaluation_spec
from tunix_rt_pipelines.defs.jobs import evaluation_refresh_job
from tunix_rt_pipelines.lib.datasets.declared import declared_datasets
from tunix_rt_pipelines.lib.datasets.reader import MANIFEST_FILE, read_dataset
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.resources.storage import ProjectStorage, materialization

# Definitions holding the checks of the refreshed assets (blocking data and lock checks, and
# trained_beats_base, which base_vs_trained yields itself).
_CHECKED = (*golden_v1_checks, *extra_eval_set_checks, evaluation_lock, base_vs_trained)  # the primary set's among them

# For each side: its evaluation, and the predictions it scores.
_SIDES = {"base": (base_evaluation.key, dg.AssetKey("base_predictions")), "trained": (trained_evaluation.key, dg.AssetKey("trained_predictions"))}


def _recorded(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, str] | None:
    """The golden and spec hashes the latest evaluation was scored with, or None if never materialized."""
    record = materialization(instance, key)
    if record is None or record.asset_materialization is None:
        return None
    metadata = record.asset_materialization.metadata
    return {name: str(metadata[name].value) if name in metadata else "" for name in ("dataset_sha256", "spec_sha256")}


def refresh_selection(recorded: dict[str, dict[str, str] | None], golden_sha256: str, spec_sha256: str) -> list[dg.AssetKey]:
    """Assets to re-materialize: the primary set (golden_v1 by default) and evaluation_spec always (their checks gate the run),
    predictions only where the golden set changed, evaluations where anything changed, and the
    comparison when both sides exist. Empty when nothing is stale."""
    stale = {}
    for side, found in recorded.items():
        if found is not None and (found["dataset_sha256"] != golden_sha256 or found["spec_sha256"] != spec_sha256):
            stale[side] = found["dataset_sha256"] != golden_sha256
    if not stale:
        return []
    keys = [dg.AssetKey(PRIMARY), evaluation_spec.key]
    for side, golden_changed in stale.items():
        evaluation_key, predictions_key = _SIDES[side]
        keys += [predictions_key, evaluation_key] if golden_changed else [evaluation_key]
    if all(found is not None for found in recorded.values()):
        keys.append(base_vs_trained.key)
    return keys


@dg.sensor(job_name=evaluation_refresh_job.name, default_status=dg.DefaultSensorStatus.STOPPED, minimum_interval_seconds=300,
           description="Re-score base and trained models when the primary eval set (golden-v1 by default) or the answer_correctness evaluator changes.")
def reevaluate_on_golden_or_evaluator_change(context: dg.SensorEvaluationContext, storage: ProjectStorage) -> dg.SensorResult | dg.SkipReason:
    recorded = {side: _recorded(context.instance, keys[0]) for side, keys in _SIDES.items()}
    if all(found is None for found in recorded.values()):
        return dg.SkipReason("no evaluation materialized yet; base_vs_trained_job makes the first ones")
    folder = storage.dataset_path(declared_datasets().primary)
    golden_sha = read_dataset(folder).sha256
    manifest = folder / MANIFEST_FILE
    manifest_sha = sha256_file(manifest) if manifest.exists() else "none"
    spec_sha = lock.spec_sha256()
    try:
        pinned = lock.read_lock()
    except lock.LockFileError as exc:  # a skip with the reason in the tick, not a failed tick with a stack
        return dg.SkipReason(f"no refresh requested: {exc}")
    selection = refresh_selection(recorded, golden_sha, spec_sha)
    if not selection:
        return dg.SkipReason(f"the evaluations were scored on the current {declared_datasets().primary} with the current evaluator")
    run_key = f"golden:{golden_sha[:16]}|manifest:{manifest_sha[:16]}|evaluator:{spec_sha[:16]}|lock:{pinned.sha256[:16] if pinned else 'none'}"
    if run_key == context.cursor:
        return dg.SkipReason(f"already requested a refresh for {run_key}")
    # The checks are named explicitly rather than left to the default, so the gate is visible in the request.
    checks = [key for definition in _CHECKED for key in definition.check_keys if key.asset_key in selection]
    request = dg.RunRequest(run_key=run_key, asset_selection=selection, asset_check_keys=checks,
                            tags={"tunix_rt/golden_sha256": golden_sha, "tunix_rt/spec_sha256": spec_sha})
    return dg.SensorResult(run_requests=[request], cursor=run_key)
