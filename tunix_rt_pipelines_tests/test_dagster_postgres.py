"""Contract: docs/dagster.postgres.yaml, copied as-is into a DAGSTER_HOME, runs the Dagster instance
on PostgreSQL: a run of real assets (the evaluation spec and its blocking lock check) is stored
there, and a second, fresh instance reads the run, its materialization, data version and check
result back, with the `gpu` pool limit applied."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from tunix_rt_pipelines.defs.evaluation.lock_check import evaluation_lock, evaluation_spec
from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.testing_utils import REPO_ROOT

pytestmark = pytest.mark.postgres


def test_the_documented_dagster_yaml_runs_the_instance_on_postgres(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "docs" / "dagster.postgres.yaml", home / "dagster.yaml")
    url = sa.make_url(postgres_url)
    for key, value in {"HOST": url.host, "PORT": str(url.port), "DB": url.database, "USERNAME": url.username,
                       "PASSWORD": url.password or ""}.items():
        monkeypatch.setenv(f"DAGSTER_PG_{key}", value)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        result = dg.materialize([evaluation_spec, evaluation_lock], instance=instance, resources={"storage": ProjectStorage()})
        assert result.success
        run_id = result.run_id

    with dg.DagsterInstance.from_config(str(home)) as fresh:  # a new process would see the same
        run = fresh.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        event = fresh.get_latest_materialization_event(evaluation_spec.key)
        assert event.run_id == run_id
        assert event.asset_materialization.tags["dagster/data_version"] == lock.spec_sha256()
        check = fresh.event_log_storage.get_latest_asset_check_execution_by_key([evaluation_lock.check_key])[evaluation_lock.check_key]
        assert (check.run_id, check.status.value) == (run_id, "SUCCEEDED")
        assert fresh.get_concurrency_config().pool_config.default_pool_limit == 1
    # ...and it really is in PostgreSQL: the runs table holds the run.
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM runs WHERE run_id = :r"), {"r": run_id}).scalar_one() == 1
    engine.dispose()
