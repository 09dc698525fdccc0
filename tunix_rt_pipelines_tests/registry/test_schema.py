"""Contract: the registry schema is managed by the Alembic revisions shipped in the package, on
SQLite and PostgreSQL. A fresh database ends at head with exactly the shape `tables.py` describes;
a database made by the pre-Alembic code (legacy v1 or v2) is adopted without losing a row and ends
in exactly the shape of a fresh one, marked so that pre-Alembic code refuses it; revisions go down
and up again; a newer or missing schema is refused with what to do (and no password); concurrent
first uses, from threads and from processes, apply the upgrade exactly once."""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tunix_rt_pipelines.lib.registry import schema
from tunix_rt_pipelines.lib.registry.candidate import candidate_from_evaluation, set_evaluation
from tunix_rt_pipelines.lib.registry.promote import PromotionRefused, promote
from tunix_rt_pipelines.lib.registry.registry import Registry, open_registry
from tunix_rt_pipelines.lib.registry.schema import SchemaError, head_revision
from tunix_rt_pipelines.lib.registry.store import make_engine, write_transaction
from tunix_rt_pipelines.lib.registry.tables import (
    leaderboard_index,
    metadata,
    model_names,
    model_versions,
    primary_set_index,
    schema_versions,
    version_eval_scores,
)
from tunix_rt_pipelines_tests.registry.factories import DATASETS, NAME, make_candidate, make_checkpoint, make_eval_set, make_evaluation

HEAD = head_revision()
LONG_AGO = datetime(2024, 1, 2, tzinfo=UTC)  # when the pre-Alembic rows were written, to tell them from new ones


def _shape(engine: sa.Engine) -> dict[str, object]:
    """Every table as the database reports it: columns (name, type, nullability), keys, uniques, foreign keys, indexes."""
    inspector = sa.inspect(engine)
    return {t: {"columns": [(c["name"], repr(c["type"]), c["nullable"]) for c in inspector.get_columns(t)],
                "pk": inspector.get_pk_constraint(t)["constrained_columns"],
                "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(t)),
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                              for f in inspector.get_foreign_keys(t)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(t))}
            for t in sorted(inspector.get_table_names())}


def _rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def _legacy_versions(engine: sa.Engine) -> list[int]:
    return [v for (v,) in _rows(engine, "SELECT version FROM registry_schema_version ORDER BY version")]


def _fresh_shape(engine: sa.Engine) -> dict[str, object]:
    """The shape of a fresh database at head, measured on `engine`'s database, which is left empty again."""
    assert schema.upgrade(engine) == (None, HEAD)
    shape = _shape(engine)
    assert schema.downgrade(engine, "base") == (HEAD, None)
    write_transaction(engine, lambda conn: conn.execute(sa.text("DROP TABLE alembic_version")))
    assert sa.inspect(engine).get_table_names() == []
    return shape


def _version_row() -> dict[str, object]:
    return dict(name="legacy-model", version=1, source_asset="trained_model", run_id="run-1", data_version="dv-1", sha256="a" * 64,
                artifact_uri="file:///store/artifacts/aaa", size_bytes=1234, score=0.5, n=10, correct=5, ci95_low=0.2, ci95_high=0.8,
                by_category={"math": 0.5}, evaluation_uri=None, evaluation_sha256=None, dataset_key="golden-v1", dataset_sha256="b" * 64,
                evaluator="exact", spec_sha256="c" * 64, training_config={"lr": 0.001}, created_at=LONG_AGO, promoted_by="someone",
                forced=False, overridden=[], gate={"better": True})


def _pre_alembic_database(conn: sa.Connection, legacy: int) -> None:
    """What the pre-Alembic code left: `metadata.create_all`, legacy rows 1..`legacy` (v1: no leaderboard index), real rows.

    `tables.py` is the legacy v2 shape plus 0004's new table and 0005's index, which are dropped again; once a revision
    changes an existing table's columns, freeze v2's tables here instead.
    """
    metadata.create_all(conn)
    version_eval_scores.drop(conn)
    primary_set_index.drop(conn)
    if legacy == 1:
        leaderboard_index.drop(conn)
    conn.execute(schema_versions.insert(), [{"version": v, "description": f"pre-Alembic v{v}", "applied_at": LONG_AGO}
                                            for v in range(1, legacy + 1)])
    conn.execute(model_names.insert().values(name="legacy-model", last_version=1, created_at=LONG_AGO))
    conn.execute(model_versions.insert().values(**_version_row()))


def test_fresh_database_is_created_at_head_and_migrating_again_does_nothing(registry_url: str, tmp_path: Path):
    registry = open_registry(registry_url, tmp_path / "store", DATASETS)
    assert HEAD == "0005" and registry.schema_version() == HEAD
    assert _rows(registry.engine, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert _legacy_versions(registry.engine) == [1, 2, 3]  # 3 > 2: pre-Alembic code refuses this database
    registry.require_schema()
    assert registry.migrate() == (HEAD, HEAD)
    assert _rows(registry.engine, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    registry.close()


def test_head_is_exactly_the_tables_the_code_uses(registry_url: str):
    engine = make_engine(registry_url)
    schema.upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    write_transaction(engine, lambda conn: leaderboard_index.drop(conn))  # the comparison does see a difference
    with engine.connect() as conn:
        assert [d[0] for d in compare_metadata(MigrationContext.configure(conn), metadata)] == ["add_index"]
    engine.dispose()


@pytest.mark.parametrize("legacy", [2, 1])
def test_pre_alembic_database_is_adopted_keeps_its_rows_and_matches_a_fresh_one(registry_url: str, tmp_path: Path, legacy: int):
    engine = make_engine(registry_url)
    fresh = _fresh_shape(engine)
    write_transaction(engine, lambda conn: _pre_alembic_database(conn, legacy))
    assert _shape(engine) != fresh  # no alembic_version yet (and v1 lacks the index): the comparison below can fail
    registry = Registry(registry_url, tmp_path / "store", DATASETS)
    assert registry.schema_version() == f"000{legacy}"
    with pytest.raises(SchemaError, match=rf"is at 000{legacy}, this code needs {HEAD}; run `tunix-rt registry migrate`"):
        registry.require_schema()

    assert registry.migrate() == (f"000{legacy}", HEAD)
    assert _shape(engine) == fresh
    assert _rows(engine, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert _legacy_versions(engine) == [1, 2, 3]
    with engine.connect() as conn:
        kept = conn.execute(sa.select(schema_versions.c.description).where(schema_versions.c.version <= legacy)).scalars().all()
        assert kept == [f"pre-Alembic v{v}" for v in range(1, legacy + 1)]  # kept, not recreated
        assert conn.execute(sa.select(model_names.c.name, model_names.c.last_version)).all() == [("legacy-model", 1)]
        row = conn.execute(sa.select(model_versions)).one()._asdict()
    assert {k: v for k, v in row.items() if k not in ("id", "created_at")} == {k: v for k, v in _version_row().items() if k != "created_at"}
    assert registry.get("legacy-model", 1).sha256 == "a" * 64  # and the registry reads them
    assert [(s.dataset_key, s.is_primary, s.score, s.n) for s in registry.get("legacy-model", 1).eval_sets] == [("golden-v1", True, 0.5, 10)]
    registry.close()
    engine.dispose()


def test_a_registry_left_at_0003_gains_each_versions_primary_score_and_takes_further_sets(registry_url: str, tmp_path: Path):
    """0004 on a database the previous release (head 0003) made and used: versions with metrics get their primary
    row, a forced one without metrics gets none, nothing else changes, and the next promotion records every set."""
    engine = make_engine(registry_url)
    assert schema.upgrade(engine, "0003") == (None, "0003")
    bare = {**_version_row(), "version": 2, "sha256": "d" * 64, "score": None, "n": None, "correct": None, "ci95_low": None,
            "ci95_high": None, "by_category": None, "forced": True}

    def used(conn: sa.Connection) -> None:
        conn.execute(model_names.insert().values(name="legacy-model", last_version=2, created_at=LONG_AGO))
        conn.execute(model_versions.insert(), [_version_row(), bare])

    write_transaction(engine, used)
    with engine.connect() as conn:
        before = [r._asdict() for r in conn.execute(sa.select(model_versions).order_by(model_versions.c.version))]
    datasets = tmp_path / "datasets"
    further_set = ("my-evals-v1", *make_eval_set(datasets, "my-evals-v1", 20))
    registry = Registry(registry_url, tmp_path / "store", datasets)
    assert registry.migrate() == ("0003", HEAD)
    with engine.connect() as conn:
        assert [r._asdict() for r in conn.execute(sa.select(model_versions).order_by(model_versions.c.version))] == before
        rows = [r._asdict() for r in conn.execute(sa.select(version_eval_scores))]
    assert rows == [{"name": "legacy-model", "version": 1, "dataset_key": "golden-v1", "is_primary": True, "dataset_sha256": "b" * 64,
                     "evaluator": "exact", "spec_sha256": "c" * 64, "score": 0.5, "n": 10, "correct": 5, "ci95_low": 0.2, "ci95_high": 0.8,
                     "by_category": {"math": 0.5}, "evaluation_uri": None, "evaluation_sha256": None}]
    assert registry.get("legacy-model", 2).eval_sets == ()

    candidate = make_candidate(tmp_path, seed=3, correct=40, name="legacy-model")
    further = make_evaluation(tmp_path / "eval-3-my", candidate.checkpoint_sha256, 4, further_set)
    result = promote(registry, dataclasses.replace(candidate, further=(set_evaluation(further),)))
    assert result.version.version == 3
    assert [(s.dataset_key, s.score) for s in registry.get("legacy-model", 3).eval_sets] == [("golden-v1", 0.4), ("my-evals-v1", 0.2)]
    registry.close()
    engine.dispose()


def test_downgrade_step_by_step_to_base_and_upgrade_again(registry_url: str):
    engine = make_engine(registry_url)
    schema.upgrade(engine)
    fresh = _shape(engine)
    index = "ix_model_versions_leaderboard"

    assert schema.downgrade(engine, "0004") == (HEAD, "0004")
    assert "ix_model_versions_primary_set" not in [i["name"] for i in sa.inspect(engine).get_indexes("model_versions")]
    assert schema.downgrade(engine, "0003") == ("0004", "0003")
    assert "version_eval_scores" not in sa.inspect(engine).get_table_names()
    assert _legacy_versions(engine) == [1, 2, 3]
    assert schema.downgrade(engine, "0002") == ("0003", "0002")
    assert _legacy_versions(engine) == [1, 2]  # pre-Alembic code may use it again
    assert index in [i["name"] for i in sa.inspect(engine).get_indexes("model_versions")]
    assert schema.downgrade(engine, "0001") == ("0002", "0001")
    assert _legacy_versions(engine) == [1]
    assert index not in [i["name"] for i in sa.inspect(engine).get_indexes("model_versions")]
    assert schema.downgrade(engine, "base") == ("0001", None)
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]

    assert schema.upgrade(engine) == (None, HEAD)
    assert _shape(engine) == fresh
    assert _legacy_versions(engine) == [1, 2, 3]
    engine.dispose()


def _with_password(url: str) -> str:
    """PostgreSQL: the same URL with a password (the test server trusts local users, so it is ignored)."""
    parsed = sa.make_url(url)
    return parsed.set(password="s3cret-pw").render_as_string(hide_password=False) if parsed.get_backend_name() == "postgresql" else url


@pytest.mark.parametrize("newer", ["alembic revision", "legacy version"])
def test_newer_schema_is_refused_and_left_alone(registry_url: str, tmp_path: Path, newer: str):
    url = _with_password(registry_url)
    engine = make_engine(url)
    if newer == "alembic revision":
        schema.upgrade(engine)
        write_transaction(engine, lambda conn: conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'")))
        revision = "0099"
    else:
        write_transaction(engine, lambda conn: _pre_alembic_database(conn, 2))
        write_transaction(engine, lambda conn: conn.execute(schema_versions.insert().values(
            version=4, description="from the future", applied_at=LONG_AGO)))
        revision = "legacy-v4"
    before = _shape(engine)
    newer_message = rf"is at {revision}, newer than this code \({HEAD}\); upgrade tunix-rt-pipelines"
    with pytest.raises(SchemaError, match=newer_message) as refused:
        open_registry(url, tmp_path / "store", DATASETS)
    assert "s3cret-pw" not in str(refused.value)
    with pytest.raises(SchemaError, match=newer_message):
        open_registry(url, tmp_path / "store", DATASETS, auto_migrate=False)
    with pytest.raises(SchemaError, match=newer_message):
        schema.downgrade(engine, "base")
    assert _shape(engine) == before  # nothing stamped, nothing dropped
    if newer == "alembic revision":
        assert _rows(engine, "SELECT version_num FROM alembic_version") == [("0099",)]
    engine.dispose()


def test_empty_database_without_auto_migrate_says_to_migrate_and_writes_nothing(registry_url: str, tmp_path: Path):
    with pytest.raises(SchemaError, match=rf"is empty, this code needs {HEAD}; run `tunix-rt registry migrate`"):
        open_registry(registry_url, tmp_path / "store", DATASETS, auto_migrate=False)
    assert sa.inspect(make_engine(registry_url)).get_table_names() == []


def _applied_once(results: list[tuple[str | None, str | None]], engine: sa.Engine) -> None:
    assert sorted(results, key=str) == [(HEAD, HEAD)] * (len(results) - 1) + [(None, HEAD)]
    assert _rows(engine, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert _legacy_versions(engine) == [1, 2, 3]


def test_concurrent_first_use_from_6_threads_upgrades_once(registry_url: str, tmp_path: Path):
    start = threading.Barrier(6)

    def first_use(_: int) -> tuple[str | None, str | None]:
        registry = Registry(registry_url, tmp_path / "store", DATASETS)
        try:
            start.wait(timeout=60)  # all six find the database empty before any of them has the lock
            return registry.migrate()
        finally:
            registry.close()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(first_use, range(6)))
    engine = make_engine(registry_url)
    _applied_once(results, engine)
    engine.dispose()


def _upgrade_in_child(url: str, start, results) -> None:
    """In a spawned process: wait for the others, then upgrade; put `(before, after)` or the error."""
    engine = make_engine(url)
    try:
        start.wait(timeout=120)
        results.put(schema.upgrade(engine))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(repr(exc))
    finally:
        engine.dispose()


def test_concurrent_first_use_from_3_processes_upgrades_once(registry_url: str):
    ctx = multiprocessing.get_context("spawn")  # not fork: the parent holds threads and connections
    start, results = ctx.Barrier(3), ctx.Queue()
    children = [ctx.Process(target=_upgrade_in_child, args=(registry_url, start, results)) for _ in range(3)]
    for child in children:
        child.start()
    try:
        outcomes = [results.get(timeout=180) for _ in children]
    except queue.Empty:
        outcomes = ["a child reported nothing"]
    for child in children:
        child.join(timeout=60)
    assert [child.exitcode for child in children] == [0, 0, 0]
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    engine = make_engine(registry_url)
    _applied_once(outcomes, engine)
    engine.dispose()


def test_a_registry_left_at_0004_indexes_versions_by_primary_set_and_takes_another_primary(registry_url: str, tmp_path: Path):
    """0005 on a database at 0004 with a golden-v1 champion: rows unchanged, the index added; a version scored on another
    declared primary set records that set's key and sha256 and is not compared with the golden-v1 champion."""
    engine = make_engine(registry_url)
    assert schema.upgrade(engine, "0004") == (None, "0004")
    datasets = tmp_path / "datasets"
    mine = ("my-evals-v1", *make_eval_set(datasets, "my-evals-v1", 20))
    registry = Registry(registry_url, tmp_path / "store", datasets)
    champion = promote(registry, make_candidate(tmp_path, seed=1, correct=60))  # golden-v1 primary (written under 0004's code shape)
    with engine.connect() as conn:
        before = [r._asdict() for r in conn.execute(sa.select(model_versions))]
    assert registry.migrate() == ("0004", HEAD)
    assert "ix_model_versions_primary_set" in [i["name"] for i in sa.inspect(engine).get_indexes("model_versions")]
    with engine.connect() as conn:
        assert [r._asdict() for r in conn.execute(sa.select(model_versions))] == before

    folder, sha = make_checkpoint(tmp_path / "ckpt-mine", 2)
    evaluation = make_evaluation(tmp_path / "eval-mine", sha, 5, mine)
    candidate = candidate_from_evaluation(NAME, str(folder), sha, evaluation, source_asset="trained_checkpoint", run_id="run-2",
                                          training_config={}, promoted_by="pytest")
    on_mine = Registry(registry_url, tmp_path / "store", datasets, primary="my-evals-v1")
    result = promote(on_mine, candidate)
    v = on_mine.get(NAME, result.version.version)
    assert (v.dataset_key, v.dataset_sha256) == ("my-evals-v1", mine[2])
    assert [(s.dataset_key, s.is_primary) for s in v.eval_sets] == [("my-evals-v1", True)]
    assert result.gate.other_primary == f"golden-v1 {champion.version.dataset_sha256}" and result.gate.p_value is None
    assert result.gate.better and "different primary set, so the two are not compared" in result.gate.reason
    # The golden-v1 registry refuses the same candidate: its pinned primary is golden-v1.
    with pytest.raises(PromotionRefused, match=r"not the pinned golden-v1 .* evaluate on golden-v1, the primary eval set"):
        promote(registry, dataclasses.replace(candidate, model_name="other-name"))
    for r in (registry, on_mine):
        r.close()
    engine.dispose()
