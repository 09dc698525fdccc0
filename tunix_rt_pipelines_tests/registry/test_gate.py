"""Contract of the regression gate and aliases: `champion` moves only to a candidate that beats it
on paired items (McNemar p < 0.05, not a fixed margin), never to a forced or incomparable one;
every alias move is atomic and recorded; hand moves are validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.registry.gate import regression_gate
from tunix_rt_pipelines.lib.registry.promote import promote
from tunix_rt_pipelines.lib.registry.registry import Registry, uri_path
from tunix_rt_pipelines.lib.registry.versions import NotFound
from tunix_rt_pipelines_tests.registry.factories import NAME, golden, make_candidate, make_evaluation


def _evaluation(tmp_path: Path, correct: int | set[str]) -> dict:
    ref = make_evaluation(tmp_path / f"e{len(list(tmp_path.iterdir()))}", "0" * 64, correct)
    return json.loads(Path(ref.path).read_text())


@pytest.mark.parametrize(("champion", "candidate", "better", "reason"), [
    (30, 60, True, "better than champion v1 (delta +0.300, McNemar p=0.0000, 30 fixed / 0 broken)"),
    # +5 points: 5 fixed, 0 broken -> p = 0.0625, not significant on paired items
    (30, 35, False, "not significantly better than champion v1 (delta +0.050, McNemar p=0.0625, 5 fixed / 0 broken)"),
    # +6 points: 6 fixed -> p = 0.03125
    (30, 36, True, "better than champion v1 (delta +0.060, McNemar p=0.0312, 6 fixed / 0 broken)"),
    (60, 30, False, "not significantly better than champion v1 (delta -0.300, McNemar p=0.0000, 0 fixed / 30 broken)"),
    (40, 40, False, "not significantly better than champion v1 (delta +0.000, McNemar p=1.0000, 0 fixed / 0 broken)"),
])
def test_the_gate_is_the_paired_test_not_a_margin(tmp_path: Path, champion: int, candidate: int, better: bool, reason: str):
    verdict = regression_gate(_evaluation(tmp_path, candidate), _evaluation(tmp_path, champion), champion_version=1)
    assert (verdict.better, verdict.reason) == (better, reason)


def test_the_same_score_with_many_flips_is_not_better(tmp_path: Path):
    rows, _ = golden()
    ids = [r.id for r in rows]
    verdict = regression_gate(_evaluation(tmp_path, set(ids[20:60])), _evaluation(tmp_path, set(ids[:40])), champion_version=1)
    assert (verdict.better, verdict.fixed, verdict.broken, verdict.delta) == (False, 20, 20, 0.0)


@pytest.mark.parametrize(("case", "reason"), [
    ("no champion", "no champion yet"),
    ("forced", "forced versions never become champion automatically"),
    ("no candidate evaluation", "no usable evaluation to compare"),
    ("champion evaluation lost", "the champion v1 has no usable evaluation to compare against"),
    ("other dataset", "not comparable: dataset_sha256 differs from the champion v1's"),
    ("other evaluator", "not comparable: evaluator differs"),
])
def test_edge_cases(tmp_path: Path, case: str, reason: str):
    candidate, champion = _evaluation(tmp_path, 90), _evaluation(tmp_path, 10)
    kwargs = {"champion_version": 1}
    if case == "no champion":
        champion, kwargs = None, {"champion_version": None}
    elif case == "forced":
        kwargs["forced"] = True
    elif case == "no candidate evaluation":
        candidate = None
    elif case == "champion evaluation lost":
        champion = None
    elif case == "other dataset":
        champion["dataset_sha256"] = "0" * 64
    else:
        champion["evaluator"] = "answer_correctness@v0"
    verdict = regression_gate(candidate, champion, **kwargs)
    assert verdict.reason.startswith(reason)
    assert verdict.better is (case == "no champion")


def test_champion_moves_only_on_a_significant_win_and_every_move_is_recorded(registry: Registry, tmp_path: Path):
    v1 = promote(registry, make_candidate(tmp_path, seed=1, correct=30))
    v2 = promote(registry, make_candidate(tmp_path, seed=2, correct=34))  # +4: not significant
    v3 = promote(registry, make_candidate(tmp_path, seed=3, correct=70))  # beats v1
    assert [r.gate.better for r in (v1, v2, v3)] == [True, False, True]
    assert [len(r.alias_moves) for r in (v1, v2, v3)] == [1, 0, 1]
    assert registry.aliases(NAME) == {"champion": 3}
    assert [(h["from_version"], h["to_version"], h["moved_by"]) for h in registry.alias_history(NAME)] == [(None, 1, "pytest"), (1, 3, "pytest")]
    assert registry.get(NAME, 2).gate["champion_version"] == 1  # judged against v1, the champion at the time
    # Asking again about v2 compares it with today's champion and moves nothing.
    again = promote(registry, make_candidate(tmp_path / "again", seed=2, correct=34))
    assert (again.created, again.gate.better, again.gate.champion_version) == (False, False, 3)


def test_a_champion_whose_evaluation_was_tampered_with_is_not_replaced_blindly(registry: Registry, tmp_path: Path):
    v1 = promote(registry, make_candidate(tmp_path, seed=1, correct=10)).version
    uri_path(v1.evaluation_uri).write_text("{}")
    result = promote(registry, make_candidate(tmp_path, seed=2, correct=90))
    assert (result.gate.better, registry.aliases(NAME)) == (False, {"champion": 1})
    assert "has no usable evaluation" in result.gate.reason


def test_aliases_move_by_hand_atomically_and_are_recorded(registry: Registry, tmp_path: Path):
    for seed in (1, 2):
        promote(registry, make_candidate(tmp_path, seed=seed, correct=10))
    move = registry.set_alias(NAME, "staging", 2, moved_by="ops", reason="canary")
    assert (move.from_version, move.to_version) == (None, 2)
    assert registry.set_alias(NAME, "champion", "staging", moved_by="ops").from_version == 1
    assert registry.aliases(NAME) == {"champion": 2, "staging": 2}
    assert registry.alias_history(NAME)[-1] | {"moved_at": None} == {
        "name": NAME, "alias": "champion", "from_version": 1, "to_version": 2, "moved_at": None, "moved_by": "ops", "reason": "moved by hand"}
    with pytest.raises(NotFound, match=r"tunix-rt-test has no version or alias '7': versions 1..2, aliases: champion -> v2, staging -> v2"):
        registry.set_alias(NAME, "staging", 7, moved_by="ops")
    assert registry.aliases(NAME) == {"champion": 2, "staging": 2}  # a failed move changes nothing
    for bad in ("latest", "3", "v3", "Bad Alias"):
        with pytest.raises(ValueError):
            registry.set_alias(NAME, bad, 1, moved_by="ops")


def test_a_champion_scored_on_another_primary_set_is_no_incumbent(tmp_path: Path):
    """Promotion compares only within one primary eval set (key + sha256): a champion scored on another one is not
    tested against, the verdict says so and names it; the same primary set goes through McNemar as before."""
    candidate, champion = _evaluation(tmp_path, 35), _evaluation(tmp_path, 30)
    mine = (candidate["dataset_key"], candidate["dataset_sha256"])
    other = regression_gate(candidate, champion, champion_version=4, champion_primary=("my-evals-v1", "a" * 64))
    assert other.better and other.p_value is None and other.n is None and other.other_primary == f"my-evals-v1 {'a' * 64}"
    assert other.reason.startswith(f"no incumbent on the primary eval set golden-v1 {mine[1][:12]}: the champion v4 was scored on "
                                   "my-evals-v1 aaaaaaaaaaaa, a different primary set")
    same = regression_gate(candidate, champion, champion_version=4, champion_primary=mine)
    assert not same.better and same.other_primary is None and same.p_value == pytest.approx(0.0625)  # 5 fixed: the paired test ran
    forced = regression_gate(candidate, champion, champion_version=4, forced=True, champion_primary=("my-evals-v1", "a" * 64))
    assert not forced.better and forced.other_primary is None
