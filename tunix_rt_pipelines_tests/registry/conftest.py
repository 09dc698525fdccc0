"""Registry fixtures: every store test runs against SQLite and against PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.registry.registry import Registry, open_registry
from tunix_rt_pipelines_tests.registry.factories import DATASETS


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty registry database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def registry(registry_url: str, tmp_path: Path):
    """An open registry on that database with its file store in `tmp_path/store`."""
    reg: Registry = open_registry(registry_url, tmp_path / "store", DATASETS)
    yield reg
    reg.close()


@pytest.fixture
def sqlite_registry(tmp_path: Path):
    """For rules that do not depend on the database: SQLite only."""
    reg = open_registry(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path / "store", DATASETS)
    yield reg
    reg.close()
