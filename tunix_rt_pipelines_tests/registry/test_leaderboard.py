"""Contract: "best" follows the spec's tie-breakers (score, CI low, n, earliest) both for picking a
candidate and for the leaderboard, which has one row per version, puts versions without metrics
last, and pages without gaps or repeats, including at the edges."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.evaluation.best import BEST_ORDER, pick_best, rank
from tunix_rt_pipelines.lib.registry.promote import promote
from tunix_rt_pipelines.lib.registry.registry import Registry
from tunix_rt_pipelines.lib.registry.versions import leaderboard_rows
from tunix_rt_pipelines_tests.registry.factories import NAME, make_candidate


def test_the_order_is_the_specs():
    assert BEST_ORDER == [["score", "desc"], ["ci95_low", "desc"], ["n", "desc"], ["created_at", "asc"]]


@pytest.mark.parametrize(("options", "best"), [
    ([("a", 0.5, 0.4, 100, 1), ("b", 0.6, 0.3, 100, 2)], "b"),   # higher score wins
    ([("a", 0.5, 0.40, 100, 1), ("b", 0.5, 0.41, 100, 2)], "b"),  # same score: higher CI low bound
    ([("a", 0.5, 0.4, 100, 1), ("b", 0.5, 0.4, 200, 2)], "b"),    # then more items
    ([("a", 0.5, 0.4, 100, 2), ("b", 0.5, 0.4, 100, 1)], "b"),    # then the earlier one
    ([("a", 0.5, 0.4, 100, 1), ("b", 0.5, 0.4, 100, 1)], "a"),    # a full tie keeps the given order
    ([("a", None, None, None, 1), ("b", 0.0, 0.0, 1, 2)], "b"),   # no metrics ranks last
])
def test_pick_best(options: list[tuple], best: str):
    facts = {o[0]: dict(zip(("score", "ci95_low", "n", "created_at"), o[1:], strict=True)) for o in options}
    assert pick_best([o[0] for o in options], facts.__getitem__) == best


def test_rank_is_a_full_order():
    facts = {"a": {"score": 0.2}, "b": {"score": 0.9}, "c": {"score": 0.5}}
    assert rank(list(facts), facts.__getitem__, order=[["score", "desc"]]) == ["b", "c", "a"]
    with pytest.raises(ValueError, match="no candidates"):
        pick_best([], facts.__getitem__)


@pytest.fixture
def populated(registry: Registry, tmp_path: Path) -> Registry:
    """Seven versions over two names: scores 0.3..0.7, a tie, and one forced without metrics."""
    for seed, correct in enumerate([30, 70, 50, 50, 60]):
        promote(registry, make_candidate(tmp_path, seed=seed, correct=correct))
    promote(registry, make_candidate(tmp_path, seed=10, correct=65, name="tunix-rt-other"))
    bare = dataclasses.replace(make_candidate(tmp_path, seed=11), evaluation_path=None, metrics=None)
    promote(registry, bare, force=True)
    return registry


def test_the_leaderboard_has_one_row_per_version_in_the_specs_order(populated: Registry):
    page = populated.leaderboard(limit=100)
    assert page.total == 7
    rows = leaderboard_rows(page)
    assert [(r["name"][-5:], r["version"], r["score"]) for r in rows] == [
        ("-test", 2, 0.7), ("other", 1, 0.65), ("-test", 5, 0.6),
        ("-test", 3, 0.5), ("-test", 4, 0.5),  # tie on everything but age: the earlier first
        ("-test", 1, 0.3), ("-test", 6, None),  # forced without metrics: last
    ]
    assert [r["rank"] for r in rows] == list(range(1, 8))
    assert rows[0]["aliases"] == "champion" and rows[0]["dataset"] == "golden-v1" and rows[-1]["forced"] is True
    assert [r["version"] for r in leaderboard_rows(populated.leaderboard("tunix-rt-other"))] == [1]


@pytest.mark.parametrize(("limit", "offset", "versions"), [
    (3, 0, [2, 1, 5]),       # first page (ranks 1-3; "other" v1 is rank 2)
    (3, 3, [3, 4, 1]),       # a middle page continues exactly
    (3, 6, [6]),             # the last page is partial
    (3, 7, []),              # just past the end: empty, still knows the total
    (100, 50, []),           # far past the end
    (1, 6, [6]),             # the very last row
    (1000, 0, [2, 1, 5, 3, 4, 1, 6]),
])
def test_leaderboard_pages(populated: Registry, limit: int, offset: int, versions: list[int]):
    page = populated.leaderboard(limit=limit, offset=offset)
    assert ([v.version for v in page.items], page.total, page.limit, page.offset) == (versions, 7, limit, offset)
    assert [r["rank"] for r in leaderboard_rows(page)] == list(range(offset + 1, offset + 1 + len(versions)))


def test_pages_cover_everything_once(populated: Registry):
    seen = [(v.name, v.version) for offset in range(0, 7, 2) for v in populated.leaderboard(limit=2, offset=offset).items]
    assert seen == [(v.name, v.version) for v in populated.leaderboard(limit=7).items]
    assert len(set(seen)) == 7
    listed = [(v.name, v.version) for offset in range(0, 7, 3) for v in populated.versions(limit=3, offset=offset).items]
    assert sorted(listed) == sorted(seen)


@pytest.mark.parametrize(("limit", "offset", "message"), [(0, 0, "limit must be between 1 and 1000"), (1001, 0, "limit"),
                                                          (10, -1, "offset must be 0 or more")])
def test_bad_pages_are_refused(sqlite_registry: Registry, limit: int, offset: int, message: str):
    with pytest.raises(ValueError, match=message):
        sqlite_registry.leaderboard(limit=limit, offset=offset)


def test_listing_an_unknown_name_says_which_exist(populated: Registry):
    with pytest.raises(LookupError, match=r"no model named 'nope' in the registry \(known: tunix-rt-other, tunix-rt-test\)"):
        populated.versions("nope")
    assert NAME in populated.names()
