"""Schedules that cut across concerns. STOPPED by default (safe on a laptop); switch them on in the UI."""

from datetime import datetime

import dagster as dg

from tunix_rt_pipelines.defs.jobs import base_vs_trained_job

NIGHTLY_CRON = "0 3 * * *"  # 03:00 UTC, after the working day


@dg.schedule(job_name=base_vs_trained_job.name, cron_schedule=NIGHTLY_CRON, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Re-run the whole base-vs-trained comparison every night: training and inference run again, "
                         "so unchanged inputs reproduce the same scores (byte-identical on CPU) or show that they no longer do.")
def nightly_base_vs_trained(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    night: datetime = context.scheduled_execution_time
    # One run per night: the key is the date, so a replayed tick never starts a second one.
    return dg.RunRequest(run_key=f"nightly:{night:%Y-%m-%d}", tags={"tunix_rt/night": f"{night:%Y-%m-%d}"})
