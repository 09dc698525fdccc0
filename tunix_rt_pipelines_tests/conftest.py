"""Shared fixtures: a private project home per test session, tiny models made locally, and a
temporary Dagster instance. Nothing here touches the network or the repository's .tunix_rt/."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests import pg_server
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    """No hub access and no writes to the repository's project home during tests."""
    home = tmp_path_factory.mktemp("tunix_home")
    saved = {k: os.environ.get(k) for k in ("TUNIX_RT_HOME", "HF_HUB_OFFLINE", "TUNIX_RT_BASE_MODEL", "DAGSTER_HOME")}
    os.environ.update({"TUNIX_RT_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    for key in ("TUNIX_RT_BASE_MODEL", "DAGSTER_HOME"):
        os.environ.pop(key, None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """builtin:tiny (Llama, ~1M parameters) saved with save_pretrained; read-only for tests."""
    from tunix_rt_pipelines.lib.models.builtin import create_builtin

    return create_builtin("builtin:tiny", tmp_path_factory.mktemp("models") / "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """builtin:tiny-gpt2: a second architecture, made the same way."""
    from tunix_rt_pipelines.lib.models.builtin import create_builtin

    return create_builtin("builtin:tiny-gpt2", tmp_path_factory.mktemp("models") / "tiny-gpt2", seed=0)


@pytest.fixture
def datasets_copy(tmp_path: Path) -> Path:
    """A writable copy of the repository's datasets/ (tests corrupt it freely)."""
    target = tmp_path / "datasets"
    shutil.copytree(REAL_DATASETS, target)
    return target


@pytest.fixture
def storage(tmp_path: Path) -> ProjectStorage:
    """Artifacts in a temporary folder, datasets from the repository (read-only use)."""
    return ProjectStorage(datasets_dir=str(REAL_DATASETS), artifacts_dir=str(tmp_path / "artifacts"))


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _no_postgres(reason: str):
    """Skip locally; in CI a missing PostgreSQL is a failure, never a silent skip."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL server: {reason}")


@pytest.fixture(scope="session")
def postgres_server_url():
    """A reachable PostgreSQL server: $TUNIX_RT_TEST_POSTGRES_URL, else a private one started here."""
    url = os.environ.get(pg_server.URL_ENV)
    if url:
        problem = pg_server.reachable(url)
        if problem:
            _no_postgres(f"{pg_server.URL_ENV} is set but not reachable: {problem}")
        yield url
        return
    try:
        server = pg_server.start()
    except pg_server.ServerUnavailable as exc:
        _no_postgres(str(exc))
    try:
        yield server.url
    finally:
        pg_server.stop(server.folder)


@pytest.fixture
def postgres_url(postgres_server_url: str):
    """A fresh, empty database on that server for one test (dropped afterwards)."""
    import sqlalchemy as sa

    from tunix_rt_pipelines.lib.registry.store import normalize_url

    admin_url = sa.make_url(normalize_url(postgres_server_url))
    name = f"tunix_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    import torch  # only when a gpu test was selected: keeps collection fast

    if not torch.cuda.is_available():
        for item in gpu_items:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))
