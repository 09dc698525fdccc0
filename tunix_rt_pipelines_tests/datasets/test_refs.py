"""The pipeline's view of a dataset: `DatasetRef`, the strict loader, the parse-once reader and snapshots.

Contract: `load_rows` raises `DatasetError` on any problem, an empty set or a hash change since
materialization; `read_dataset_once` re-reads as soon as a file changes; `snapshot` copies a
folder once per content; `overlapping_prompts` matches prompts the way the blocking overlap check
does (normalised).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.generate import make_manifest, manifest_bytes
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.datasets.refs import DatasetError, DatasetRef, load_rows, overlapping_prompts, read_dataset_once, snapshot

GOLDEN_SHA = "03869f42bff7d691c2d6b68280f4fd9070e4fee8eba3a77cb09ada1909a28ef5"  # golden-v1/manifest.json


def _ref(sha256: str = GOLDEN_SHA) -> DatasetRef:
    return DatasetRef(key="golden-v1", kind="eval", sha256=sha256, count=100)


def test_load_rows_returns_every_row_or_a_prefix(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    assert len(load_rows(folder, _ref())) == 100
    assert [r.id for r in load_rows(folder, _ref(), limit=3)] == ["g1-add-000", "g1-add-001", "g1-add-002"]


def test_load_rows_raises_with_every_problem(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    lines = (folder / "items.jsonl").read_bytes().splitlines(keepends=True)
    lines[2], lines[40] = b"\n", b"[]\n"
    (folder / "items.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(DatasetError) as info:
        load_rows(folder, _ref())
    message = str(info.value)
    assert "golden-v1 has 3 problem(s)" in message and "tunix-rt validate-dataset" in message
    assert "golden-v1/items.jsonl:3: <line>: blank line; remove it" in message
    assert "golden-v1/items.jsonl:41: <row>: expected a JSON object, got list" in message
    assert "golden-v1/manifest.json:0: sha256:" in message


def test_load_rows_lists_20_problems_then_counts_the_rest(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    (folder / "items.jsonl").write_bytes(b"{bad\n" * 30)
    with pytest.raises(DatasetError) as info:
        load_rows(folder, _ref())
    message = str(info.value)
    assert message.count("<json>: invalid JSON") == 20 - 2  # 2 of the 20 shown are the manifest's (count, sha256)
    assert message.rstrip().endswith("... and 12 more")


def test_load_rows_raises_when_the_content_changed_since_materialization(datasets_copy: Path) -> None:
    with pytest.raises(DatasetError, match=r"changed on disk since it was materialized \(000000000000 -> 03869f42bff7\)"):
        load_rows(datasets_copy / "golden-v1", _ref(sha256="0" * 64))


def test_load_rows_raises_on_an_empty_dataset(tmp_path: Path) -> None:
    # An empty eval set cannot pass read_dataset cleanly, so the strict loader refuses it too.
    folder = tmp_path / "golden-v1"
    folder.mkdir()
    (folder / "items.jsonl").write_bytes(b"")
    (folder / "manifest.json").write_bytes(manifest_bytes(make_manifest("golden-v1", "eval", [], seed=0)))
    with pytest.raises(DatasetError, match="no items: the dataset is empty"):
        load_rows(folder, DatasetRef(key="golden-v1", kind="eval", sha256=hashlib.sha256(b"").hexdigest(), count=0))


def test_load_rows_returns_a_new_list_each_time(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    first = load_rows(folder, _ref())
    first.clear()  # a caller changing its list must not empty the next caller's
    assert len(load_rows(folder, _ref())) == 100


def test_read_dataset_once_parses_once_and_again_after_a_change(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    first = read_dataset_once(folder)
    assert read_dataset_once(folder) is first  # same files: not parsed again
    assert (first.sha256, len(first.rows)) == (read_dataset(folder).sha256, 100)
    lines = (folder / "items.jsonl").read_bytes().splitlines(keepends=True)
    (folder / "items.jsonl").write_bytes(b"".join(lines[:-1]))  # one item fewer
    changed = read_dataset_once(folder)
    assert changed is not first and len(changed.rows) == 99 and changed.manifest_problems


def test_dataset_ref_of_records_which_content_not_where(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    ref = DatasetRef.of("golden-v1", read_dataset_once(folder))
    assert ref == _ref() and "path" not in ref.model_dump()  # the same ref on every machine
    assert len(load_rows(folder, ref)) == 100


def test_snapshot_copies_once_per_content_and_keeps_the_folder_name(datasets_copy: Path, tmp_path: Path) -> None:
    folder = datasets_copy / "golden-v1"
    first = snapshot(folder, tmp_path / "snapshots")
    assert first.name == "golden-v1" and read_dataset(first).all_problems == []  # the manifest key still matches its folder
    assert snapshot(folder, tmp_path / "snapshots") == first  # same content: the same folder, not copied again
    (folder / "manifest.json").write_text((folder / "manifest.json").read_text().replace('"version": "1"', '"version": "2"'))
    second = snapshot(folder, tmp_path / "snapshots")
    assert second != first and (first / "manifest.json").read_text() != (second / "manifest.json").read_text()


def test_overlapping_prompts_match_after_normalisation() -> None:
    class Row:
        def __init__(self, id: str, prompt: str) -> None:
            self.id, self.prompt = id, prompt

    golden = [Row("g1", "What is 64 + 9?"), Row("g2", "Reverse 'abc'.")]
    traces = [Row("t1", "  WHAT is 64 +\t9? "), Row("t2", "Reverse 'abd'."), Row("t3", "Ｒｅｖｅｒｓｅ 'abc'.")]
    assert overlapping_prompts(traces, golden) == [("t1", "g1"), ("t3", "g2")]
    assert overlapping_prompts(traces, []) == []
