"""Contract: the registry URL comes from the resource, else $TUNIX_RT_REGISTRY_URL, else (outside
production) the project's SQLite file; PostgreSQL URLs use the installed driver; an unreachable or
unsupported database is a clear error with the password hidden; the resources open one registry
per configuration; PostgreSQL tests never skip in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.lib.registry.registry import open_registry
from tunix_rt_pipelines.lib.registry.store import RegistryConnectionError, make_engine, normalize_url, resolve_url
from tunix_rt_pipelines.resources.model_registry import EphemeralModelRegistry, SqlModelRegistry
from tunix_rt_pipelines_tests.conftest import _no_postgres
from tunix_rt_pipelines_tests.registry.factories import DATASETS


def test_url_resolution(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TUNIX_RT_REGISTRY_URL", raising=False)
    monkeypatch.setenv("TUNIX_RT_ENV", "local")
    assert resolve_url() == f"sqlite:///{environment.project_home() / 'registry.db'}"
    monkeypatch.setenv("TUNIX_RT_REGISTRY_URL", "postgresql://u:p@db/reg")
    assert resolve_url() == "postgresql+psycopg2://u:p@db/reg"
    assert resolve_url("sqlite:////x.db") == "sqlite:////x.db"  # the resource's own setting wins
    monkeypatch.setenv("TUNIX_RT_ENV", "prod")
    assert resolve_url() == "postgresql+psycopg2://u:p@db/reg"
    monkeypatch.delenv("TUNIX_RT_REGISTRY_URL")
    with pytest.raises(RegistryConnectionError, match=r"\$TUNIX_RT_REGISTRY_URL is not set; in production"):
        resolve_url()


@pytest.mark.parametrize(("url", "expected"), [
    ("postgres://u@h/d", "postgresql+psycopg2://u@h/d"),
    ("postgresql://u@h/d", "postgresql+psycopg2://u@h/d"),
    ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
    ("sqlite:///a.db", "sqlite:///a.db"),
])
def test_normalize_url(url: str, expected: str):
    assert normalize_url(url) == expected


def test_unsupported_and_unreachable_databases_are_clear_errors(tmp_path: Path):
    with pytest.raises(RegistryConnectionError, match=r"unsupported registry URL mysql://u:\*\*\*@h/d"):
        make_engine("mysql://u:secret@h/d")
    with pytest.raises(RegistryConnectionError, match=r"cannot connect to the registry at postgresql\+psycopg2://u:\*\*\*@127.0.0.1:1/x"):
        open_registry("postgresql://u:secret@127.0.0.1:1/x?connect_timeout=2", tmp_path, DATASETS)


def test_resources_open_one_registry_per_configuration(tmp_path: Path):
    a, b = EphemeralModelRegistry(key="one"), EphemeralModelRegistry(key="two")
    assert a.open() is EphemeralModelRegistry(key="one").open()
    assert a.open() is not b.open() and a.open().root != b.open().root
    sql = SqlModelRegistry(url=f"sqlite:///{tmp_path / 'r.db'}", storage_dir=str(tmp_path / "files"))
    assert sql.open() is sql.open() and sql.open().root == tmp_path / "files"
    assert SqlModelRegistry().storage_path() == environment.project_home() / "registry"


def test_postgres_is_required_in_ci(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required in CI: no server"):
        _no_postgres("no server")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _no_postgres("no server")
