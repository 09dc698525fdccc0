"""`sweep_on_new_training_inputs`: launch `sweep_job` when new training data or a new base model lands.

A sweep's inputs are the pair (training_traces data version, base_checkpoint data version), so
the run key is that pair: the same data never starts two sweeps, however often the assets are
re-materialized (sweep_job itself re-materializes both). The cursor holds the newest
materialization seen per asset and the last pair requested. STOPPED by default: a sweep is
hours of compute on a laptop; switch it on in the UI (Automation) where that is wanted.
"""

import json

import dagster as dg

from tunix_rt_pipelines.defs.datasets.assets import training_traces
from tunix_rt_pipelines.defs.jobs import sweep_job
from tunix_rt_pipelines.defs.models.assets import base_checkpoint
from tunix_rt_pipelines.defs.run_config import run_config_problems
from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.resources.storage import data_version, materialization

MONITORED = (training_traces.key, base_checkpoint.key)


def latest_materialization(instance: dg.DagsterInstance, key: dg.AssetKey) -> tuple[int, str] | None:
    """(storage id, data version) of the newest materialization of `key`, or None."""
    record = materialization(instance, key)
    return None if record is None else (record.storage_id, data_version(record) or "")


def sweep_run_key(traces_version: str, base_version: str) -> str:
    return f"traces:{traces_version}|base:{base_version}"


@dg.sensor(job_name=sweep_job.name, default_status=dg.DefaultSensorStatus.STOPPED, minimum_interval_seconds=60,
           description="Run sweep_job once per new (training_traces, base_checkpoint) data-version pair.")
def sweep_on_new_training_inputs(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    cursor = json.loads(context.cursor) if context.cursor else {}
    latest = {key.to_user_string(): latest_materialization(context.instance, key) for key in MONITORED}
    missing = [name for name, found in latest.items() if found is None]
    if missing:
        return dg.SkipReason(f"waiting for a first materialization of {', '.join(missing)}")
    seen = {name: found[0] for name, found in latest.items()}
    if all(seen[name] <= cursor.get("seen", {}).get(name, -1) for name in seen):
        return dg.SkipReason("no new training_traces or base_checkpoint materialization")
    traces_version, base_version = latest["training_traces"][1], latest["base_checkpoint"][1]
    run_key = sweep_run_key(traces_version, base_version)
    new_cursor = json.dumps({"seen": seen, "requested": run_key})
    if run_key == cursor.get("requested"):
        return dg.SensorResult(skip_reason=f"already requested a sweep for {run_key}", cursor=new_cursor)
    run_config = dg.RunConfig(ops={"tuning_sweep": SweepConfig()})
    # Checked as the launch will check it (defs/launch_checks.py); the job comes from the loaded Definitions.
    job = context.repository_def.get_job(sweep_job.name) if context.repository_def else None
    problems = run_config_problems(job, run_config.to_config_dict()) if job else []
    if problems:  # the launch would refuse it: a skip that says why (each tick, cursor kept), not a failed tick
        return dg.SkipReason(f"no sweep requested for {run_key}: sweep_job's config is refused: {'; '.join(problems)}")
    request = dg.RunRequest(
        run_key=run_key,
        run_config=run_config,
        tags={"tunix_rt/training_traces_version": traces_version, "tunix_rt/base_checkpoint_version": base_version},
    )
    return dg.SensorResult(run_requests=[request], cursor=new_cursor)
