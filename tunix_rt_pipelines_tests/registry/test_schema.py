"""Contract: the registry schema is created and upgraded explicitly and in order, on SQLite and
PostgreSQL; an upgraded database has exactly the shape of a fresh one; a newer or missing schema
is refused with what to do; concurrent first uses do not race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tunix_rt_pipelines.lib.registry.registry import Registry, open_registry
from tunix_rt_pipelines.lib.registry.schema import SCHEMA_VERSION, SchemaError, leaderboard_index, schema_versions
from tunix_rt_pipelines.lib.registry.store import make_engine, write_transaction
from tunix_rt_pipelines_tests.registry.factories import DATASETS


def _shape(engine: sa.Engine) -> dict[str, object]:
    """Tables, their columns (name, nullability) and index names, as the database reports them."""
    inspector = sa.inspect(engine)
    return {t: ([(c["name"], c["nullable"]) for c in inspector.get_columns(t)], sorted(i["name"] for i in inspector.get_indexes(t)))
            for t in sorted(inspector.get_table_names())}


def test_fresh_database_is_created_at_the_current_version(registry_url: str, tmp_path: Path):
    registry = open_registry(registry_url, tmp_path / "store", DATASETS)
    with registry.engine.connect() as conn:
        rows = conn.execute(sa.select(schema_versions.c.version).order_by(schema_versions.c.version)).scalars().all()
    assert rows == list(range(1, SCHEMA_VERSION + 1))
    assert registry.migrate() == (SCHEMA_VERSION, SCHEMA_VERSION)  # idempotent: nothing to do
    registry.close()


def test_upgrade_from_v1_matches_a_fresh_database(registry_url: str, tmp_path: Path):
    registry = Registry(registry_url, tmp_path / "store", DATASETS)
    registry.migrate()
    fresh = _shape(registry.engine)

    def back_to_v1(conn: sa.Connection) -> None:  # the shape v1 shipped with
        leaderboard_index.drop(conn)
        conn.execute(schema_versions.delete().where(schema_versions.c.version > 1))

    write_transaction(registry.engine, back_to_v1)
    assert registry.schema_version() == 1
    with pytest.raises(SchemaError, match=r"at schema v1, this code needs v2; run `tunix-rt registry migrate`"):
        registry.require_schema()
    assert registry.migrate() == (1, SCHEMA_VERSION)
    assert _shape(registry.engine) == fresh
    registry.close()


def test_newer_schema_is_refused(registry_url: str, tmp_path: Path):
    registry = open_registry(registry_url, tmp_path / "store", DATASETS)
    write_transaction(registry.engine, lambda conn: conn.execute(
        schema_versions.insert().values(version=SCHEMA_VERSION + 1, description="from the future", applied_at=sa.func.now())))
    with pytest.raises(SchemaError, match="newer than this code"):
        registry.migrate()
    with pytest.raises(SchemaError, match="upgrade tunix-rt-pipelines"):
        open_registry(registry_url, tmp_path / "store", DATASETS, auto_migrate=False)
    registry.close()


def test_empty_database_without_auto_migrate_says_to_migrate(registry_url: str, tmp_path: Path):
    with pytest.raises(SchemaError, match=r"is empty, this code needs v2; run `tunix-rt registry migrate`"):
        open_registry(registry_url, tmp_path / "store", DATASETS, auto_migrate=False)
    assert sa.inspect(make_engine(registry_url)).get_table_names() == []  # checking wrote nothing


def test_concurrent_first_use_creates_the_schema_once(registry_url: str, tmp_path: Path):
    def open_and_close(_: int) -> int:
        registry = open_registry(registry_url, tmp_path / "store", DATASETS)
        version = registry.schema_version()
        registry.close()
        return version

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(open_and_close, range(6))) == [SCHEMA_VERSION] * 6
    engine = make_engine(registry_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema_versions)).scalar_one() == SCHEMA_VERSION
    engine.dispose()
