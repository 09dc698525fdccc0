"""Datasets as the pipeline uses them: which version a step was given, and reading it back
strictly, once per version of the files on disk.

A `DatasetRef` says which dataset and which content (key, kind, sha256, count); it holds no
path, so it means the same thing on every machine. The folder comes from the caller's datasets
setting. One in-process run reads golden-v1 in its asset, three checks, two predictions and two
evaluations, and the 6,000 traces in their asset, four checks and training: `read_dataset_once`
parses each only once, and again only when a file changes (inode, mtime, ctime or size).
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tunix_rt_pipelines.lib.datasets.contract import DatasetKind
from tunix_rt_pipelines.lib.datasets.reader import ITEMS_FILE, MANIFEST_FILE, Dataset, normalize_prompt, read_dataset
from tunix_rt_pipelines.lib.files import staged_dir
from tunix_rt_pipelines.lib.hashing import folder_key, sha256_file


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


class DatasetRef(BaseModel):
    """Which dataset, and which version of it, a step works on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    kind: DatasetKind
    sha256: str
    count: int

    @classmethod
    def of(cls, key: str, data: Dataset) -> DatasetRef:
        """The reference to dataset `key` as read into `data`."""
        return cls(key=key, kind=data.kind, sha256=data.sha256, count=len(data.rows))


def snapshot(folder: Path, snapshots: Path) -> Path:
    """Copy a dataset folder's files, as they are now, to `snapshots/<content key>/<folder name>/` (once); return it.

    Downstream steps read the snapshot, not the source folder: a later edit of the source can
    never change what an earlier run scored, and a step on another machine reads the same bytes
    from the shared artifact root. The key covers both files, bad content included: the blocking
    checks judge the snapshot.
    """
    files = [folder / name for name in (ITEMS_FILE, MANIFEST_FILE) if (folder / name).is_file()]
    # The folder keeps its name: a manifest's key must match the folder it sits in.
    target = snapshots / folder_key(*[(f.name, sha256_file(f)) for f in files]) / folder.name
    if not target.exists():
        with staged_dir(target) as tmp:
            for f in files:
                shutil.copyfile(f, tmp / f.name)
    return target


class DatasetError(ValueError):
    """A dataset that must be clean to be used is not; the message lists every problem."""


def load_rows(folder: Path, ref: DatasetRef, limit: int | None = None) -> list:
    """Read a dataset strictly: every row valid and the content still hashing to `ref.sha256`.

    Args:
        folder: The dataset's folder (`<datasets dir>/<key>`).
        ref: The version the caller was given.
        limit: Only the first N rows.

    Raises:
        DatasetError: Any problem at all (never skips a bad line), an empty dataset, or content
            that changed since the asset recorded its hash.
    """
    data = read_dataset_once(folder)
    problems = data.all_problems
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DatasetError(f"dataset {ref.key} has {len(problems)} problem(s); run `tunix-rt validate-dataset {folder}`:\n{shown}{more}")
    if data.sha256 != ref.sha256:
        raise DatasetError(f"dataset {ref.key} changed on disk since it was materialized ({ref.sha256[:12]} -> {data.sha256[:12]}); re-materialize it")
    if not data.rows:
        raise DatasetError(f"dataset {ref.key} is empty")
    return list(data.rows[: limit or None])  # a new list: the cached one is shared


def overlapping_prompts(traces: list, golden: list) -> list[tuple[str, str]]:
    """(trace id, golden id) for every trace whose normalised prompt is also a golden prompt."""
    golden_prompts = {normalize_prompt(r.prompt): r.id for r in golden}
    return [(r.id, golden_prompts[p]) for r in traces if (p := normalize_prompt(r.prompt)) in golden_prompts]
