"""nightly_base_vs_trained: STOPPED by default, 03:00 UTC, one run per night across ticks (the
run key is the date, so a replayed tick cannot start a second run); all automation starts STOPPED."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.schedules import NIGHTLY_CRON, nightly_base_vs_trained


def test_nightly_schedule_definition():
    assert nightly_base_vs_trained.job_name == "base_vs_trained_job"
    assert nightly_base_vs_trained.cron_schedule == NIGHTLY_CRON == "0 3 * * *"
    assert nightly_base_vs_trained.execution_timezone == "UTC"


def test_one_run_per_night_across_ticks(instance):
    nights = [datetime(2026, 11, 22, 3, tzinfo=UTC) + timedelta(days=i) for i in range(3)]
    keys = []
    for night in nights + [nights[-1]]:  # the last night's tick evaluated twice (a daemon retry)
        result = nightly_base_vs_trained.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=night))
        [request] = result.run_requests
        assert request.tags["dagster/schedule_name"] == "nightly_base_vs_trained"
        keys.append(request.run_key)
    assert keys == ["nightly:2026-11-22", "nightly:2026-11-23", "nightly:2026-11-24", "nightly:2026-11-24"]
    # The schedule requests no run config: the job's defaults must be a complete, valid one.
    resolved = dg.validate_run_config(defs.resolve_job_def("base_vs_trained_job"), {})
    assert resolved["ops"]["trained_checkpoint"]["config"]["max_steps"] == 1500 and "in_process" in resolved["execution"]


def test_all_automation_starts_stopped():
    assert sorted(s.name for s in defs.sensors) == ["reevaluate_on_golden_or_evaluator_change", "sweep_on_new_training_inputs"]
    assert all(s.default_status == dg.DefaultSensorStatus.STOPPED for s in defs.sensors)
    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in defs.schedules)
