"""Contract: a version carries every declared eval set's score, not only the primary's. Each further
set's evaluation is guarded like the primary's (readable, consistent, this checkpoint, the pinned
evaluator, the hash its manifest pins, one set once); it is stored with its own evaluation copy,
read back by every read, and shown as a leaderboard column. Promotion stays idempotent, a refusal
writes nothing, and force records the override and drops the set that failed."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from tunix_rt_pipelines.lib.registry.candidate import set_evaluation
from tunix_rt_pipelines.lib.registry.promote import PromotionRefused, promote
from tunix_rt_pipelines.lib.registry.registry import Registry, open_registry, uri_path
from tunix_rt_pipelines.lib.registry.tables import version_eval_scores
from tunix_rt_pipelines.lib.registry.versions import leaderboard_rows, score_columns
from tunix_rt_pipelines_tests.registry.factories import make_candidate, make_checkpoint, make_eval_set, make_evaluation
from tunix_rt_pipelines_tests.registry.test_promote import state


@pytest.fixture
def sets_registry(registry_url: str, tmp_path: Path):
    """A registry whose datasets folder holds golden-v1's manifest and two further sets, and the sets as (key, rows, sha256)."""
    datasets = tmp_path / "datasets"
    sets = {key: (key, *make_eval_set(datasets, key, count)) for key, count in (("my-evals-v1", 30), ("more-evals-v1", 20))}
    registry = open_registry(registry_url, tmp_path / "store", datasets)
    yield registry, sets
    registry.close()


def _with_further(tmp_path: Path, seed: int, sets: dict, right: dict[str, int], primary_correct: int = 50):
    candidate = make_candidate(tmp_path, seed=seed, correct=primary_correct)
    further = [make_evaluation(tmp_path / f"eval-{seed}-{key}", candidate.checkpoint_sha256, n, sets[key]) for key, n in right.items()]
    return dataclasses.replace(candidate, further=tuple(set_evaluation(e) for e in further))


def _score_rows(registry: Registry) -> int:
    with registry.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(version_eval_scores)).scalar_one()


def test_every_declared_set_is_recorded_with_its_own_evaluation_copy_and_read_back(sets_registry, tmp_path: Path):
    registry, sets = sets_registry
    candidate = _with_further(tmp_path, 1, sets, {"my-evals-v1": 12, "more-evals-v1": 5}, primary_correct=40)
    result = promote(registry, candidate)
    scores = {(s.dataset_key, s.is_primary): s for s in result.version.eval_sets}
    assert list(scores) == [("golden-v1", True), ("more-evals-v1", False), ("my-evals-v1", False)]  # primary first, then by key
    assert (scores["golden-v1", True].score, scores["golden-v1", True].n) == (result.version.score, 100) == (0.4, 100)
    assert (scores["my-evals-v1", False].score, scores["my-evals-v1", False].correct, scores["my-evals-v1", False].n) == (0.4, 12, 30)
    assert (scores["more-evals-v1", False].score, scores["more-evals-v1", False].n) == (0.25, 20)
    for s, further in ((scores["my-evals-v1", False], candidate.further[0]), (scores["more-evals-v1", False], candidate.further[1])):
        assert (s.dataset_sha256, s.evaluator, s.spec_sha256) == (further.dataset_sha256, further.evaluator, further.spec_sha256)
        assert s.dataset_sha256 == sets[s.dataset_key][2]
        assert (s.ci95_low, s.ci95_high) == further.metrics.ci95 and s.by_category == further.metrics.by_category
        copy = uri_path(s.evaluation_uri)  # the set's evaluation.json, content-addressed beside the primary's
        assert copy.read_bytes() == Path(further.evaluation_path).read_bytes()
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == s.evaluation_sha256
    assert registry.get(candidate.model_name, "latest").eval_sets == result.version.eval_sets  # every read carries them
    assert registry.versions().items[0].eval_sets == result.version.eval_sets
    assert [e["dataset_key"] for e in registry.get(candidate.model_name, 1).to_dict()["eval_sets"]] == ["golden-v1", "more-evals-v1", "my-evals-v1"]

    before = state(registry), _score_rows(registry)
    again = promote(registry, candidate)  # same sha256: that version, nothing written
    assert (again.created, again.version.version, again.version.eval_sets) == (False, 1, result.version.eval_sets)
    assert (state(registry), _score_rows(registry)) == before == (before[0], 3)


def test_the_leaderboard_has_a_column_per_further_set(sets_registry, tmp_path: Path):
    registry, sets = sets_registry
    promote(registry, _with_further(tmp_path, 1, sets, {"my-evals-v1": 9}, primary_correct=30))
    promote(registry, make_candidate(tmp_path, seed=2, correct=60))  # scored on the primary set only
    rows = leaderboard_rows(registry.leaderboard(limit=10))
    assert score_columns(rows) == ["score:my-evals-v1"]
    assert [(r["version"], r["score"], r["score:my-evals-v1"]) for r in rows] == [(2, 0.6, None), (1, 0.3, 0.3)]
    assert [e["dataset"] for e in rows[1]["eval_sets"]] == ["golden-v1", "my-evals-v1"]


def _scored_another_model(tmp_path: Path, candidate, sets):
    _, other = make_checkpoint(tmp_path / "other", 99)
    return set_evaluation(make_evaluation(tmp_path / "eval-other", other, 3, sets["my-evals-v1"]))


def _off_manifest(tmp_path: Path, candidate, sets):
    key, rows, _ = sets["my-evals-v1"]
    return set_evaluation(make_evaluation(tmp_path / "eval-off", candidate.checkpoint_sha256, 3, (key, rows, "f" * 64)))


def _primary_again(tmp_path: Path, candidate, sets):
    return set_evaluation(candidate.evaluation_path)


def _unreadable(tmp_path: Path, candidate, sets):
    return set_evaluation(tmp_path / "missing" / "evaluation.json")


@pytest.mark.parametrize(("bad", "message"), [
    (_scored_another_model, "my-evals-v1: the evaluation scored model"),
    (_off_manifest, "my-evals-v1: evaluated on ffffffffffff, but"),
    (_primary_again, "golden-v1: evaluated twice, or it is the primary set"),
    (_unreadable, "cannot be read"),
])
def test_a_bad_further_set_refuses_writes_nothing_and_force_drops_only_it(sets_registry, tmp_path: Path, bad, message: str):
    registry, sets = sets_registry
    good = _with_further(tmp_path, 1, sets, {"more-evals-v1": 4})
    candidate = dataclasses.replace(good, further=(*good.further, bad(tmp_path, good, sets)))
    before = state(registry), _score_rows(registry)
    with pytest.raises(PromotionRefused, match=r"\[eval_sets\] .*" + message.replace("(", r"\(")):
        promote(registry, candidate)
    assert (state(registry), _score_rows(registry)) == before

    forced = promote(registry, candidate, force=True)
    assert forced.version.forced and [o["guard"] for o in forced.version.overridden] == ["eval_sets"]
    assert [s.dataset_key for s in forced.version.eval_sets] == ["golden-v1", "more-evals-v1"]  # the good ones stay
    assert not forced.gate.better  # forced: never champion automatically
