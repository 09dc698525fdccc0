"""Contract: 20 concurrent promotions of distinct checkpoints (threads in several processes, each
with its own connections) get 20 distinct, consecutive versions; none is lost; every stored copy
is complete and no temporary copy is left; the champion's history stays a single chain. The same
checkpoint promoted concurrently becomes exactly one version. SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from tunix_rt_pipelines.lib.registry.artifacts import verify_folder
from tunix_rt_pipelines.lib.registry.promote import promote
from tunix_rt_pipelines.lib.registry.registry import open_registry, uri_path
from tunix_rt_pipelines_tests.registry.factories import DATASETS, NAME, make_candidate, promote_many

N, PROCESSES, THREADS = 20, 4, 5


def test_20_concurrent_promotions_get_20_consecutive_versions(registry_url: str, tmp_path: Path):
    root = tmp_path / "store"
    registry = open_registry(registry_url, root, DATASETS)
    candidates = [make_candidate(tmp_path, seed=i, correct=10 + 3 * i) for i in range(N)]
    chunks = [candidates[i::PROCESSES] for i in range(PROCESSES)]
    # spawn, not fork: the parent holds threads and connections that must not be copied.
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = [r for chunk in pool.map(promote_many, [registry_url] * PROCESSES, [str(root)] * PROCESSES, chunks,
                                           [THREADS] * PROCESSES) for r in chunk]

    assert sorted(version for _, version, _ in results) == list(range(1, N + 1))
    assert all(created for _, _, created in results)
    assert {sha for sha, _, _ in results} == {c.checkpoint_sha256 for c in candidates}
    page = registry.versions(NAME, limit=100)
    assert page.total == N
    assert {v.version: v.sha256 for v in page.items} == {version: sha for sha, version, _ in results}
    for v in page.items:  # complete, verified copies
        verify_folder(uri_path(v.artifact_uri), v.sha256)
    assert sorted(p.name for p in (root / "artifacts").iterdir()) == sorted(c.checkpoint_sha256 for c in candidates)
    # One chain of champion moves, ending at the champion.
    history = registry.alias_history(NAME)
    assert history[0]["from_version"] is None
    assert all(a["to_version"] == b["from_version"] for a, b in zip(history[:-1], history[1:], strict=True))
    assert registry.aliases(NAME)["champion"] == history[-1]["to_version"]
    registry.close()


def test_the_same_checkpoint_promoted_concurrently_is_one_version(registry_url: str, tmp_path: Path):
    registry = open_registry(registry_url, tmp_path / "store", DATASETS)
    candidate = make_candidate(tmp_path, seed=1)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(functools.partial(promote, registry), [candidate] * 8))
    assert {r.version.version for r in results} == {1}
    assert sum(r.created for r in results) == 1
    assert registry.versions(NAME).total == 1
    assert [p.name for p in (tmp_path / "store" / "artifacts").iterdir()] == [candidate.checkpoint_sha256]
    registry.close()
