"""Deterministic generator for golden-v1, reasoning-traces-v1 and reasoning-traces-v2.

`build_golden(seed)` and `build_traces(seed, golden, steps=...)` are pure; `write_dataset` writes
`items.jsonl` + `manifest.json` atomically. `regenerate(datasets_dir)` rebuilds every folder from
the seeds in their manifests, which is how `tunix-rt generate-datasets --check` proves the
committed files are exactly what this code makes. v1 stays frozen: v2 is a new version with new
prompts (its own seed) and the step style of `steps_v2`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tunix_rt_pipelines.lib.datasets import steps_v2
from tunix_rt_pipelines.lib.datasets.contract import (
    GOLDEN_KEY,
    SCHEMA_VERSION,
    TRACES_KEY,
    TRACES_V2_KEY,
    EvalItem,
    Manifest,
    TraceStep,
    TrainingTrace,
)
from tunix_rt_pipelines.lib.datasets.families import FAMILIES, Task
from tunix_rt_pipelines.lib.datasets.reader import (
    ITEMS_FILE,
    MANIFEST_FILE,
    canonical_jsonl,
    composition,
    normalize_prompt,
    sha256_bytes,
)
from tunix_rt_pipelines.lib.files import atomic_write_bytes

# Recorded in every manifest this generator writes. It names the module where the generator lived when
# golden-v1 and reasoning-traces-v1 were made; the manifests are frozen data, so it is not renamed with the module.
GENERATOR_NAME = "tunix_rt_pipelines.defs.datasets.generate"

GOLDEN_SEED, TRACES_SEED, TRACES_V2_SEED = 20261122, 20261123, 20261203

# golden-v1: 100 items, 12-13 per family, roughly 40% easy / 35% medium / 25% hard.
GOLDEN_PLAN: dict[str, dict[str, int]] = {
    family: ({"easy": 5, "medium": 5, "hard": 3} if i < 4 else {"easy": 5, "medium": 4, "hard": 3})
    for i, family in enumerate(FAMILIES)
}
# reasoning-traces-v1: 750 per family, 6,000 in all, 30/40/30 so harder items get practice.
TRACES_PLAN: dict[str, dict[str, int]] = {family: {"easy": 225, "medium": 300, "hard": 225} for family in FAMILIES}

_SHORT = {"addition": "add", "subtraction": "sub", "multiplication": "mul", "reverse": "rev",
          "sort": "sort", "count": "cnt", "unit_conversion": "unit", "word_problem": "word"}

# Give up rather than loop forever when a family/difficulty cell has too few distinct prompts.
_MAX_TRIES_PER_ITEM = 200


def _unique_tasks(family: str, difficulty: str, n: int, rng: random.Random, taken: set[str]):
    made, tries = [], 0
    while len(made) < n:
        tries += 1
        if tries > n * _MAX_TRIES_PER_ITEM:
            raise RuntimeError(f"{family}/{difficulty}: only {len(made)} distinct prompts of {n} requested")
        task = FAMILIES[family](rng, difficulty)
        key = normalize_prompt(task.prompt)
        if key in taken:
            continue
        taken.add(key)
        made.append(task)
    return made


def build_golden(seed: int = GOLDEN_SEED, plan: dict[str, dict[str, int]] = GOLDEN_PLAN) -> list[EvalItem]:
    """The golden evaluation items, in a fixed order (family, then difficulty)."""
    rng, taken, items = random.Random(seed), set(), []
    for family, cells in plan.items():
        for difficulty, n in cells.items():
            for task in _unique_tasks(family, difficulty, n, rng, taken):
                items.append(EvalItem(id=f"g1-{_SHORT[family]}-{len(items):03d}", prompt=task.prompt,
                                      ground_truth=task.answer, category=family, difficulty=difficulty))
    return items


def _v1_steps(family: str, task: Task) -> list[tuple[str, str]]:
    return list(task.steps)


_STEPS = {"t1": _v1_steps, "t2": steps_v2.steps}


def build_traces(seed: int = TRACES_SEED, golden: list[EvalItem] = (), plan: dict[str, dict[str, int]] = TRACES_PLAN,
                 version: str = "t1") -> list[TrainingTrace]:
    """Training traces, disjoint from `golden` by normalised prompt, shuffled with `seed`.

    `version` "t1" gives reasoning-traces-v1's steps, "t2" those of `steps_v2` (ids start with it).
    """
    make_steps = _STEPS[version]
    rng = random.Random(seed)
    taken = {normalize_prompt(g.prompt) for g in golden}
    tasks = []
    for family, cells in plan.items():
        for difficulty, n in cells.items():
            tasks += [(family, difficulty, t) for t in _unique_tasks(family, difficulty, n, rng, taken)]
    rng.shuffle(tasks)  # interleave families so any prefix of the file is a fair sample
    return [
        TrainingTrace(
            id=f"{version}-{_SHORT[family]}-{i:05d}", prompt=t.prompt, answer=t.answer, category=family, difficulty=difficulty,
            steps=[TraceStep(i=k, type=kind, content=content) for k, (kind, content) in enumerate(make_steps(family, t))],
        )
        for i, (family, difficulty, t) in enumerate(tasks)
    ]


def make_manifest(key: str, kind: str, rows: list, seed: int, extra: dict | None = None, version: str = "1") -> Manifest:
    return Manifest(
        key=key, version=version, kind=kind, schema_version=SCHEMA_VERSION, count=len(rows),
        sha256=sha256_bytes(canonical_jsonl(rows)),
        generator={"name": GENERATOR_NAME, "version": version, "seed": seed, **(extra or {})},
        composition=composition(rows),
    )


def manifest_bytes(manifest: Manifest) -> bytes:
    return (json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_dataset(folder: Path, rows: list, manifest: Manifest) -> None:
    """Write `items.jsonl` then `manifest.json`, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / ITEMS_FILE, canonical_jsonl(rows))
    atomic_write_bytes(folder / MANIFEST_FILE, manifest_bytes(manifest))


DEFAULT_SEEDS = {GOLDEN_KEY: GOLDEN_SEED, TRACES_KEY: TRACES_SEED, TRACES_V2_KEY: TRACES_V2_SEED}


def build_all(seeds: dict[str, int] = DEFAULT_SEEDS) -> dict[str, tuple[list, Manifest]]:
    """Every generated dataset and its manifest, keyed by dataset key."""
    golden = build_golden(seeds[GOLDEN_KEY])
    disjoint = {"disjoint_from": GOLDEN_KEY}
    v1 = build_traces(seeds[TRACES_KEY], golden)
    v2 = build_traces(seeds[TRACES_V2_KEY], golden, version="t2")
    return {
        GOLDEN_KEY: (golden, make_manifest(GOLDEN_KEY, "eval", golden, seeds[GOLDEN_KEY])),
        TRACES_KEY: (v1, make_manifest(TRACES_KEY, "traces", v1, seeds[TRACES_KEY], disjoint)),
        TRACES_V2_KEY: (v2, make_manifest(TRACES_V2_KEY, "traces", v2, seeds[TRACES_V2_KEY], disjoint, version="2")),
    }


def seeds_from_manifests(datasets_dir: Path) -> dict[str, int]:
    """The seeds recorded in the committed manifests (the defaults when a manifest is absent)."""
    def seed(key: str, default: int) -> int:
        path = datasets_dir / key / MANIFEST_FILE
        return int(json.loads(path.read_text())["generator"]["seed"]) if path.exists() else default
    return {key: seed(key, default) for key, default in DEFAULT_SEEDS.items()}


def regenerate(datasets_dir: Path, check: bool = False) -> list[str]:
    """Rebuild every generated dataset from its manifest's seed.

    Args:
        datasets_dir: The repository's `datasets/` folder.
        check: Compare with the files on disk instead of writing them.

    Returns:
        With `check`, the files whose bytes differ from what the generator makes (empty = identical).
    """
    built = build_all(seeds_from_manifests(datasets_dir))
    differing = []
    for key, (rows, manifest) in built.items():
        folder = datasets_dir / key
        if not check:
            write_dataset(folder, rows, manifest)
            continue
        for name, data in ((ITEMS_FILE, canonical_jsonl(rows)), (MANIFEST_FILE, manifest_bytes(manifest))):
            if not (folder / name).exists() or (folder / name).read_bytes() != data:
                differing.append(f"{key}/{name}")
    return differing
