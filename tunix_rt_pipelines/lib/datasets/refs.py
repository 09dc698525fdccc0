"""Datasets as the pipeline uses them: the reference an asset hands downstream, and reading it
back strictly, once per version of the files on disk.

One in-process run reads golden-v1 in its asset, three checks, two predictions and two
evaluations, and the 6,000 traces in their asset, four checks and training: `read_dataset_once`
parses each only once, and again only when a file changes (inode, mtime, ctime or size).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from tunix_rt_pipelines.lib.datasets.contract import DatasetKind
from tunix_rt_pipelines.lib.datasets.jsonl import ITEMS_FILE, MANIFEST_FILE, Dataset, normalize_prompt, read_dataset


def _stamp(path: Path) -> tuple:
    stats = []
    for p in (path, path / ITEMS_FILE, path / MANIFEST_FILE):
        try:
            st = p.stat()
        except OSError:
            stats.append(None)
        else:
            stats.append((st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size))
    return tuple(stats)


@functools.lru_cache(maxsize=8)
def _read_cached(path: Path, stamp: tuple) -> Dataset:
    return read_dataset(path)


def read_dataset_once(path: Path) -> Dataset:
    """`read_dataset`, parsed once per version of the files. Treat the result as read-only."""
    path = Path(path)
    return _read_cached(path, _stamp(path))


@dataclass(frozen=True)
class DatasetRef:
    """What a dataset asset hands downstream: where the data is and the hash it had."""

    key: str
    kind: DatasetKind
    path: str
    sha256: str
    count: int

    @classmethod
    def of(cls, key: str, path: Path, data: Dataset) -> DatasetRef:
        """The reference to dataset folder (or `.jsonl`) `path`, as read into `data`."""
        return cls(key=key, kind=data.kind, path=str(path), sha256=data.sha256, count=len(data.rows))


class DatasetError(ValueError):
    """A dataset that must be clean to be used is not; the message lists every problem."""


def load_rows(ref: DatasetRef, limit: int | None = None) -> list:
    """Read a dataset strictly: every row valid and the content still hashing to `ref.sha256`.

    Raises:
        DatasetError: Any problem at all (never skips a bad line), an empty dataset, or content
            that changed since the asset recorded its hash.
    """
    data = read_dataset_once(Path(ref.path))
    problems = data.all_problems
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DatasetError(f"dataset {ref.key} has {len(problems)} problem(s); run `uv run tunix-rt validate-dataset {ref.path}`:\n{shown}{more}")
    if data.sha256 != ref.sha256:
        raise DatasetError(f"dataset {ref.key} changed on disk since it was materialized ({ref.sha256[:12]} -> {data.sha256[:12]}); re-materialize it")
    if not data.rows:
        raise DatasetError(f"dataset {ref.key} is empty")
    return list(data.rows[: limit or None])  # a new list: the cached one is shared


def overlapping_prompts(traces: list, golden: list) -> list[tuple[str, str]]:
    """(trace id, golden id) for every trace whose normalised prompt is also a golden prompt."""
    golden_prompts = {normalize_prompt(r.prompt): r.id for r in golden}
    return [(r.id, golden_prompts[p]) for r in traces if (p := normalize_prompt(r.prompt)) in golden_prompts]
