"""Contract: deploy/dagster.yaml loads as a DagsterInstance on PostgreSQL with the queue, pool,
monitoring and retention settings docs/deployment.md promises; deploy/workspace.yaml points at a
code server on 127.0.0.1 under the location name `tunix-rt run` uses; the documented commands
bind 127.0.0.1 and use that port. (test_service.py runs the whole service.)"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from tunix_rt_pipelines.cli import launch
from tunix_rt_pipelines_tests.testing_utils import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


@pytest.mark.postgres
def test_the_service_instance_loads_with_its_limits(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.scheduler.instigation import TickStatus
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    url = sa.make_url(postgres_url)
    for key, value in {"HOST": url.host, "PORT": str(url.port), "DB": url.database, "USERNAME": url.username,
                       "PASSWORD": url.password or ""}.items():
        monkeypatch.setenv(f"DAGSTER_PG_{key}", value)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert {limit["key"]: limit["limit"] for limit in concurrency.run_queue_config.tag_concurrency_limits} == {
            "dagster/sensor_name": 1, "dagster/backfill": 2}
        assert concurrency.pool_config.default_pool_limit == 1  # the `gpu` pool: one step at a time across runs
        assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 300
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 300
        assert instance.get_tick_retention_settings(InstigatorType.SCHEDULE)[TickStatus.SUCCESS] == 90
        assert instance.get_tick_retention_settings(InstigatorType.SENSOR)[TickStatus.SKIPPED] == 7


def test_the_workspace_loads_the_location_from_a_loopback_code_server():
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    (origin,) = WorkspaceFileTarget(paths=[str(DEPLOY / "workspace.yaml")]).create_origins()
    assert (origin.host, origin.location_name) == ("127.0.0.1", launch.LOCATION_NAME)
    doc = (REPO_ROOT / "docs" / "deployment.md").read_text().replace("\\\n", " ")  # shell line continuations joined
    commands = re.findall(r"^uv run (dagster api grpc|dagster-webserver|dagster-daemon run)(.*)$", doc, re.M)
    assert [c[0] for c in commands] == ["dagster api grpc", "dagster-webserver", "dagster-daemon run"]
    server, webserver, daemon = (c[1] for c in commands)
    assert f"--port {origin.port}" in server and "--host 127.0.0.1" in server and f"--location-name {launch.LOCATION_NAME}" in server
    assert "-h 127.0.0.1" in webserver and "-w deploy/workspace.yaml" in webserver and "-w deploy/workspace.yaml" in daemon
