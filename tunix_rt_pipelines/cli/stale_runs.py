"""Runs a crash left behind on the project-local instance, released before `tunix-rt run` starts another.

No daemon watches the local instance: a run whose processes were killed (kill -9, an OOM kill, a
crashed or closed machine) stays STARTED for ever and keeps its `gpu` pool slot, so every later run
waits for it at `trained_checkpoint` ("Step blocked by limit for pool gpu") and never trains. The
service deployment gets this from the daemon's run monitoring (`run_monitoring` in
deploy/dagster.yaml: `free_slots_after_run_end_seconds`); this is the same remedy for the
daemon-less instance, and `tunix-rt run` applies it only when no daemon is running. A run is
released only when the process its run worker reported ("Started process for run (pid: N)") is
gone; a run of another `tunix-rt run` still going in another terminal is left alone.
"""

from __future__ import annotations

import contextlib

UNFINISHED = ("STARTING", "STARTED", "CANCELING")


def release_stale_runs(instance) -> list[str]:
    """Mark runs whose process is gone FAILED and free every pool slot a finished run still holds; one line per run."""
    import dagster as dg

    storage = instance.event_log_storage
    holding = set(storage.get_concurrency_run_ids()) if storage.supports_global_concurrency_limits else set()
    statuses = [dg.DagsterRunStatus[s] for s in UNFINISHED]
    unfinished = {r.run_id for r in instance.get_runs(filters=dg.RunsFilter(statuses=statuses))}
    lines = []
    for run_id in sorted(holding | unfinished):
        record = instance.get_run_record_by_id(run_id)
        if record is not None and not record.dagster_run.is_finished:
            pid = _run_pid(instance, run_id)
            if pid is None or _alive(pid, record.start_time):
                continue  # still starting, or still running in another process
            instance.report_run_failed(record.dagster_run, message=f"its process (pid {pid}) is gone: killed or crashed; "
                                                                  "marked failed by tunix-rt run before starting another")
            lines.append(f"run {run_id} was left {record.dagster_run.status.value} by a process that is gone (pid {pid}): marked FAILED")
        if run_id in holding:
            storage.free_concurrency_slots_for_run(run_id)
            if record is not None and record.dagster_run.is_finished:
                lines.append(f"run {run_id} ({record.dagster_run.status.value}) still held pool slots: freed")
    return lines


def _run_pid(instance, run_id: str) -> int | None:
    """The pid the run's worker reported when it started, or None before it has."""
    import dagster as dg

    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = event.dagster_event.engine_event_data if event.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value)
    return None


def _alive(pid: int, run_started: float | None) -> bool:
    """The process exists, and is not a newer one that reuses the pid."""
    import psutil

    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and (run_started is None or proc.create_time() <= run_started + 1)
    return False
