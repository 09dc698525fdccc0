"""Contract of `promote()`: a version carries its full provenance and an immutable copy; the same
sha256 again returns that version and writes nothing; every guard refuses with a reason, force
overrides only what it may and is recorded; a refusal leaves no row and no file behind."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC
from pathlib import Path

import pytest
import sqlalchemy as sa

from tunix_rt_pipelines.lib.evaluation import lock
from tunix_rt_pipelines.lib.registry.candidate import candidate_from_evaluation
from tunix_rt_pipelines.lib.registry.promote import PromotionRefused, promote
from tunix_rt_pipelines.lib.registry.registry import Registry, open_registry, uri_path
from tunix_rt_pipelines.lib.registry.tables import alias_moves, model_aliases, model_names, model_versions
from tunix_rt_pipelines_tests.registry.factories import NAME, make_candidate


def state(registry: Registry) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Row counts of every table and every file in the store (with its mtime): what "writes nothing" compares."""
    with registry.engine.connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (model_names, model_versions, model_aliases, alias_moves)}
    files = sorted((str(p.relative_to(registry.root)), p.stat().st_mtime_ns) for p in registry.root.rglob("*")) if registry.root.exists() else []
    return counts, files


def test_a_version_records_its_provenance_and_an_identical_copy(registry: Registry, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=1, correct=40)
    result = promote(registry, candidate)
    v = result.version
    assert (result.created, v.name, v.version, v.forced, v.overridden) == (True, NAME, 1, False, [])
    assert (v.source_asset, v.run_id, v.data_version, v.promoted_by, v.training_config) == (
        "trained_checkpoint", "run-1", candidate.data_version, "pytest", {"seed": 1})
    assert (v.score, v.n, v.correct, (v.ci95_low, v.ci95_high)) == (0.4, 100, 40, candidate.metrics.ci95)
    assert v.by_category == candidate.metrics.by_category
    assert (v.dataset_key, v.dataset_sha256, v.evaluator, v.spec_sha256) == (
        candidate.dataset_key, candidate.dataset_sha256, candidate.evaluator, lock.spec_sha256())
    assert v.created_at.tzinfo == UTC
    # The artifact is a content-addressed, byte-identical copy; the evaluation is kept beside it.
    copy = uri_path(v.artifact_uri)
    assert copy == registry.root / "artifacts" / candidate.checkpoint_sha256
    source = Path(candidate.checkpoint_path)
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in source.iterdir())
    assert all((copy / p.name).read_bytes() == p.read_bytes() for p in source.iterdir())
    assert v.size_bytes == sum(p.stat().st_size for p in source.iterdir())
    assert uri_path(v.evaluation_uri).read_bytes() == Path(candidate.evaluation_path).read_bytes()
    # The first version has no champion to beat, so it becomes champion.
    assert [(m.alias, m.from_version, m.to_version) for m in result.alias_moves] == [("champion", None, 1)]
    assert registry.get(NAME, "champion") == registry.get(NAME, 1) == registry.get(NAME, "latest")


def test_promoting_the_same_sha256_again_returns_it_and_writes_nothing(registry: Registry, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=1)
    first = promote(registry, candidate)
    before = state(registry)
    again = promote(registry, dataclasses.replace(candidate, run_id="another-run", promoted_by="someone else"))
    assert (again.created, again.version, again.alias_moves) == (False, first.version, [])
    assert again.gate.reason == "v1 is the champion"
    assert state(registry) == before


def test_the_same_checkpoint_under_another_name_shares_the_stored_copy(registry: Registry, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=1)
    a = promote(registry, candidate).version
    b = promote(registry, dataclasses.replace(candidate, model_name="tunix-rt-other")).version
    assert (a.name, a.version, b.name, b.version) == (NAME, 1, "tunix-rt-other", 1)
    assert a.artifact_uri == b.artifact_uri
    assert len(list((registry.root / "artifacts").iterdir())) == 1


@pytest.mark.parametrize("force", [False, True])
def test_missing_artifacts_are_refused_with_no_row_and_no_files(registry: Registry, tmp_path: Path, force: bool):
    candidate = make_candidate(tmp_path, seed=1)
    shutil.rmtree(candidate.checkpoint_path)
    with pytest.raises(PromotionRefused, match=r"\[artifacts\] checkpoint unusable: .*not a folder.*\(force cannot override this\)"):
        promote(registry, candidate, force=force)
    assert state(registry) == ({"model_names": 0, "model_versions": 0, "model_aliases": 0, "alias_moves": 0}, [])


def test_a_checkpoint_changed_after_evaluation_is_refused_even_with_force(registry: Registry, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=1)
    (Path(candidate.checkpoint_path) / "config.json").write_text("{}")
    with pytest.raises(PromotionRefused, match="not the declared .* changed after it was described"):
        promote(registry, candidate, force=True)
    assert state(registry)[0]["model_versions"] == 0


def test_a_failed_run_is_refused_unless_forced_and_force_is_recorded(registry: Registry, tmp_path: Path):
    champion = promote(registry, make_candidate(tmp_path, seed=1, correct=10)).version
    failed = make_candidate(tmp_path, seed=2, correct=90, run_failed=True)
    before = state(registry)
    with pytest.raises(PromotionRefused, match=r"(?s)\[run\] run run-2 that produced trained_checkpoint failed.*pass force=True"):
        promote(registry, failed)
    assert state(registry) == before
    result = promote(registry, failed, force=True)
    assert (result.created, result.version.version, result.version.forced) == (True, 2, True)
    assert [o["guard"] for o in result.version.overridden] == ["run"]
    # Much better on paper, but forced: the champion stays.
    assert (result.gate.better, result.alias_moves) == (False, [])
    assert "forced versions never become champion" in result.version.gate["reason"]
    assert registry.get(NAME, "champion").version == champion.version


def test_candidate_forced_flag_works_like_force(sqlite_registry: Registry, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=1, run_failed=True, forced=True)
    assert promote(sqlite_registry, candidate).version.forced


def test_an_absent_evaluation_is_refused_unless_forced_then_no_metrics_are_stored(registry: Registry, tmp_path: Path):
    good = make_candidate(tmp_path, seed=1)
    bare = candidate_from_evaluation(NAME, good.checkpoint_path, good.checkpoint_sha256, None, source_asset="sweep", promoted_by="pytest")
    with pytest.raises(PromotionRefused, match=r"\[evaluation\] no evaluation"):
        promote(registry, bare)
    v = promote(registry, bare, force=True).version
    assert (v.forced, v.score, v.n, v.by_category, v.evaluation_uri) == (True, None, None, None, None)
    assert "evaluation" in [o["guard"] for o in v.overridden]
    assert registry.aliases(NAME) == {}  # a forced first version does not become champion either


def _rewrite_evaluation(candidate, **changes):
    """The candidate's evaluation.json with some fields changed, and the candidate rebuilt from it."""
    path = Path(candidate.evaluation_path)
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return candidate_from_evaluation(candidate.model_name, candidate.checkpoint_path, candidate.checkpoint_sha256, str(path),
                                     source_asset=candidate.source_asset, promoted_by="pytest")


@pytest.mark.parametrize(("change", "expected"), [
    # the evaluation was made on other data
    ({"dataset_sha256": "0" * 64}, r"\[pinned_golden\] evaluated on golden-v1 000000000000, not the pinned golden-v1"),
    ({"dataset_key": "reasoning-traces-v1"}, r"\[pinned_golden\] evaluated on reasoning-traces-v1"),
    # judged by another evaluator version, or under a drifted spec
    ({"evaluator": "answer_correctness@v2"}, r"\[pinned_golden\] judged by answer_correctness@v2, not the pinned answer_correctness@v1"),
    ({"spec_sha256": "f" * 64}, r"\[evaluation_lock\] the candidate was scored under spec ffffffffffff"),
    # the evaluation scored a different model
    ({"model_sha256": "a" * 64}, r"\[artifacts\] the evaluation scored model aaaaaaaaaaaa, not this checkpoint"),
])
def test_evaluations_off_the_pins_are_refused(sqlite_registry: Registry, tmp_path: Path, change: dict, expected: str):
    candidate = _rewrite_evaluation(make_candidate(tmp_path, seed=1), **change)
    with pytest.raises(PromotionRefused, match=expected):
        promote(sqlite_registry, candidate)
    assert state(sqlite_registry)[0]["model_versions"] == 0


def test_metrics_that_disagree_with_the_evaluation_file_are_refused(sqlite_registry: Registry, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=1, correct=40)
    inflated = dataclasses.replace(candidate, metrics=dataclasses.replace(candidate.metrics, score=0.9))
    with pytest.raises(PromotionRefused, match=r"\[evaluation\] evaluation .* does not match the candidate: score 0.4 != 0.9"):
        promote(sqlite_registry, inflated)
    Path(candidate.evaluation_path).write_text("{not json")
    with pytest.raises(PromotionRefused, match=r"\[evaluation\] evaluation .* is not valid JSON"):
        promote(sqlite_registry, candidate)


def test_the_pins_come_from_the_lock_file_and_the_golden_manifest(tmp_path: Path, datasets_copy: Path, monkeypatch: pytest.MonkeyPatch):
    candidate = make_candidate(tmp_path, seed=1)
    manifest = datasets_copy / "golden-v1" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "sha256": "1" * 64}))
    registry = open_registry(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "store", datasets_copy)
    with pytest.raises(PromotionRefused, match="not the pinned golden-v1 111111111111"):
        promote(registry, candidate)
    manifest.unlink()
    with pytest.raises(PromotionRefused, match="no pinned golden-v1 hash"):
        promote(registry, candidate)
    monkeypatch.setattr(lock, "LOCK_FILE", tmp_path / "no-lock.json")
    with pytest.raises(PromotionRefused, match=r"\[evaluation_lock\] the evaluation lock does not pass: no lock file"):
        promote(registry, candidate)
    registry.close()


@pytest.mark.parametrize("name", ["", "Tunix", "a b", "-x", "x" * 101, "../etc"])
def test_invalid_model_names_are_refused(sqlite_registry: Registry, tmp_path: Path, name: str):
    with pytest.raises(PromotionRefused, match="invalid model name"):
        promote(sqlite_registry, make_candidate(tmp_path, seed=1, name=name))
