"""A run a crash left STARTED on the local instance is released before the next `tunix-rt run` (fast).

Contract: a run whose reported process is gone is marked FAILED with the reason and its `gpu` pool
slot freed, so the next run's training is not blocked for ever; a run whose process is alive (another
`tunix-rt run` in another terminal), and one that has not reported a process yet, are left as they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import EngineEventData

from tunix_rt_pipelines.cli.stale_runs import release_stale_runs


@pytest.fixture
def instance(tmp_path: Path):
    (tmp_path / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots("gpu", 1)  # the pool's limit, as a first claim sets it from default_limit
        yield instance


def _started_run(instance, pid: int | None, slot: bool) -> str:
    run = instance.add_run(dg.DagsterRun(job_name="base_vs_trained_job", status=dg.DagsterRunStatus.NOT_STARTED))
    instance.handle_run_event(run.run_id, dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, "base_vs_trained_job"))
    if pid is not None:
        instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
    if slot:
        assert instance.event_log_storage.claim_concurrency_slot("gpu", run.run_id, "trained_checkpoint").is_claimed
    return run.run_id


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_is_gone_is_failed_and_frees_its_pool_slot(instance):
    dead = _started_run(instance, _dead_pid(), slot=True)
    waiting = _started_run(instance, os.getpid(), slot=False)
    assert not instance.event_log_storage.claim_concurrency_slot("gpu", waiting, "trained_checkpoint").is_claimed  # blocked

    lines = release_stale_runs(instance)

    assert len(lines) == 1 and lines[0].startswith(f"run {dead} was left STARTED by a process that is gone") and "marked FAILED" in lines[0]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.claim_concurrency_slot("gpu", waiting, "trained_checkpoint").is_claimed  # the next run may train
    assert instance.get_run_by_id(waiting).status == dg.DagsterRunStatus.STARTED  # alive: left alone
    assert release_stale_runs(instance) == []  # idempotent


def test_a_run_alive_or_not_yet_started_keeps_its_slot(instance):
    alive = _started_run(instance, os.getpid(), slot=True)
    starting = _started_run(instance, None, slot=False)
    assert release_stale_runs(instance) == []
    assert {instance.get_run_by_id(r).status for r in (alive, starting)} == {dg.DagsterRunStatus.STARTED}
    assert instance.event_log_storage.get_concurrency_info("gpu").active_run_ids == {alive}


def test_a_finished_run_still_holding_a_slot_has_it_freed(instance):
    run_id = _started_run(instance, os.getpid(), slot=True)
    instance.report_run_canceled(instance.get_run_by_id(run_id))  # e.g. a second Ctrl-C: marked, its steps never released
    assert release_stale_runs(instance) == [f"run {run_id} (CANCELED) still held pool slots: freed"]
    assert instance.event_log_storage.get_concurrency_info("gpu").active_run_ids == set()
