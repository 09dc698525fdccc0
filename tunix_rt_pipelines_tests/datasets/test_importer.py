"""`import_dataset`: foreign files read by Hugging Face `datasets`, mapped onto the contract, all or nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.importer import DatasetImportError, derive_id, import_dataset
from tunix_rt_pipelines.lib.datasets.reader import read_dataset


def _eval_records(n: int = 24) -> list[dict]:
    return [{"qid": f"{i:03d}", "question": f"What is {i} plus {i + 1}?", "answer": str(2 * i + 1),
             "topic": "Unit Conversion" if i % 2 else "Addition", "level": "Hard" if i % 3 else "easy", "notes": "x"} for i in range(n)]


def _write_csv(path: Path, records: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def _write_parquet(path: Path, records: list[dict]) -> Path:
    import datasets

    datasets.Dataset.from_list(records).to_parquet(str(path))
    return path


EVAL_MAP = {"id": "qid", "prompt": "question", "ground_truth": "answer", "category": "topic", "difficulty": "level"}


def _nothing_left(root: Path) -> bool:
    return not root.exists() or not any(root.iterdir())


def test_a_foreign_csv_imports_through_a_field_map_and_reads_back_clean(tmp_path: Path):
    source = _write_csv(tmp_path / "evals.csv", _eval_records())
    result = import_dataset(source, "my-evals-v1", "eval", tmp_path / "datasets", EVAL_MAP)
    assert result.written and result.folder == tmp_path / "datasets" / "my-evals-v1"
    data = read_dataset(result.folder)
    assert not data.all_problems and len(data.rows) == 24
    first = data.rows[0]
    assert (first.id, first.ground_truth, first.category, first.difficulty) == ("000", "1", "addition", "easy")  # "000" stays text
    assert data.rows[1].category == "unit_conversion" and data.rows[1].difficulty == "hard"
    m = result.manifest
    assert (m.key, m.version, m.kind, m.count) == ("my-evals-v1", "1", "eval", 24)
    assert m.generator["source"] == "evals.csv" and len(m.generator["source_sha256"]) == 64
    assert m.generator["field_map"] == EVAL_MAP and m.generator["ignored_columns"] == ["notes"]
    assert m.composition["by_category"] == {"addition": 12, "unit_conversion": 12}
    assert "my-evals-v1" in (result.folder / "README.md").read_text()


TRACE_MAP = {"prompt": "q", "steps": "reasoning", "answer": "final"}


def test_a_parquet_trace_set_with_list_steps_derives_ids_and_defaults(tmp_path: Path):
    records = [{"q": f"Reverse the word w{i}", "reasoning": [f"read w{i}", "reverse it"], "final": f"{i}w"} for i in range(6)]
    result = import_dataset(_write_parquet(tmp_path / "traces.parquet", records), "my-traces-v3", "traces", tmp_path / "datasets", TRACE_MAP)
    rows = read_dataset(result.folder).rows
    assert result.manifest.version == "3"
    assert [(s.i, s.type, s.content) for s in rows[1].steps] == [(0, "compute", "read w1"), (1, "compute", "reverse it")]
    assert {(r.category, r.difficulty) for r in rows} == {("uncategorised", "unspecified")}
    assert rows[0].id == derive_id("Reverse the word w0", "0w") and len({r.id for r in rows}) == 6


def test_steps_as_newline_separated_text_and_ids_that_do_not_depend_on_the_key(tmp_path: Path):
    records = [{"q": f"Reverse the word w{i}", "reasoning": f"read w{i}\n\nreverse it\n", "final": f"{i}w"} for i in range(6)]
    source = _write_csv(tmp_path / "traces.csv", records)
    first = import_dataset(source, "csv-traces-v1", "traces", tmp_path / "datasets", TRACE_MAP)
    rows = read_dataset(first.folder).rows
    assert [s.content for s in rows[0].steps] == ["read w0", "reverse it"]  # blank lines dropped
    again = import_dataset(source, "csv-traces-v2", "traces", tmp_path / "datasets", TRACE_MAP)
    assert [r.id for r in read_dataset(again.folder).rows] == [r.id for r in rows]


def test_a_saved_dataset_dict_needs_a_split_when_it_has_several(tmp_path: Path):
    import datasets

    part = datasets.Dataset.from_list(_eval_records())
    datasets.DatasetDict({"test": part, "validation": part}).save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(DatasetImportError, match=r"splits \['test', 'validation'\]; choose one with --split"):
        import_dataset(tmp_path / "saved", "saved-v1", "eval", tmp_path / "datasets", EVAL_MAP)
    result = import_dataset(tmp_path / "saved", "saved-v1", "eval", tmp_path / "datasets", EVAL_MAP, split="test")
    assert result.manifest.count == 24 and result.manifest.generator["split"] == "test"


def test_every_bad_row_is_reported_by_row_and_column_and_nothing_is_written(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    records = _eval_records()
    records[4]["answer"] = ""
    records[9]["level"] = "impossible"
    records[11]["question"] = "   "
    records[15]["qid"] = records[2]["qid"]
    source = _write_csv(tmp_path / "bad.csv", records)
    with pytest.raises(DatasetImportError) as err:
        import_dataset(source, "bad-v1", "eval", tmp_path / "datasets", EVAL_MAP)
    assert [str(p) for p in err.value.problems] == [
        "bad.csv:5: answer: missing or empty (the contract's ground_truth)",
        "bad.csv:10: level: Input should be 'easy', 'medium', 'hard' or 'unspecified' (the contract's difficulty)",
        "bad.csv:12: question: missing or empty (the contract's prompt)",
        "bad.csv:16: qid: duplicate id '002' (first in row 3); ids must be unique (a derived id repeats when two rows have the same content)",
    ]
    assert _nothing_left(tmp_path / "datasets") and _nothing_left(tmp_path / "hf")


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"answer": "answer"}, "bad.csv:0: answer: not a field of a eval row"),
    ({**EVAL_MAP, "prompt": "quest"}, "bad.csv:0: prompt: no column 'quest' in the source; its columns are qid, question"),
    ({"id": "qid"}, "bad.csv:0: prompt: no column maps to it; add --map prompt=COLUMN"),
])
def test_a_field_map_that_cannot_apply_is_refused_before_any_row(tmp_path: Path, overrides, expected):
    source = _write_csv(tmp_path / "bad.csv", _eval_records())
    with pytest.raises(DatasetImportError) as err:
        import_dataset(source, "x-v1", "eval", tmp_path / "datasets", overrides)
    assert str(err.value.problems[0]).startswith(expected)
    assert _nothing_left(tmp_path / "datasets")


def test_a_key_is_immutable_the_same_content_is_a_no_op(tmp_path: Path):
    source = _write_csv(tmp_path / "evals.csv", _eval_records())
    first = import_dataset(source, "my-evals-v1", "eval", tmp_path / "datasets", EVAL_MAP)
    items = first.folder / "items.jsonl"
    stamp = items.stat().st_mtime_ns
    again = import_dataset(source, "my-evals-v1", "eval", tmp_path / "datasets", EVAL_MAP)
    assert not again.written and items.stat().st_mtime_ns == stamp
    changed = _write_csv(tmp_path / "changed.csv", _eval_records(25))
    with pytest.raises(DatasetImportError, match="already holds a different dataset .* import under a new key"):
        import_dataset(changed, "my-evals-v1", "eval", tmp_path / "datasets", EVAL_MAP)
    assert items.stat().st_mtime_ns == stamp and len(read_dataset(first.folder).rows) == 24
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["my-evals-v1"]  # no staging folders left


@pytest.mark.parametrize(("name", "rows", "key", "expected"), [
    ("evals.txt", 24, "x-v1", r"unsupported file type '\.txt'"),
    ("evals.csv", 24, "Bad Key", r"'Bad Key' is not a dataset key"),
    ("few.csv", 5, "few-v1", r"an eval set holds 20-200 items, this source has 5"),
])
def test_sources_that_cannot_become_a_dataset_are_refused(tmp_path: Path, name, rows, key, expected):
    source = _write_csv(tmp_path / name, _eval_records(rows))
    with pytest.raises(DatasetImportError, match=expected):
        import_dataset(source, key, "eval", tmp_path / "datasets", EVAL_MAP)
    assert _nothing_left(tmp_path / "datasets")


def test_json_numbers_become_text_and_a_json_array_file_reads(tmp_path: Path):
    records = [{"prompt": f"What is {i} times 2?", "ground_truth": i * 2, "category": "multiplication", "difficulty": "medium"} for i in range(20)]
    (tmp_path / "evals.json").write_text(json.dumps(records))
    result = import_dataset(tmp_path / "evals.json", "json-v1", "eval", tmp_path / "datasets")
    assert [r.ground_truth for r in read_dataset(result.folder).rows][:3] == ["0", "2", "4"]


@pytest.mark.parametrize(("name", "data"), [("garbage.parquet", b"PAR1 not really"), ("broken.jsonl", b'{"prompt": "a"\n')])
def test_a_file_its_reader_cannot_parse_is_one_problem(tmp_path: Path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DatasetImportError) as err:
        import_dataset(tmp_path / name, "x-v1", "eval", tmp_path / "datasets")
    [problem] = err.value.problems
    assert str(problem).startswith(f"{name}:0: <file>: cannot be read as ") and "\n" not in str(problem)
    assert _nothing_left(tmp_path / "datasets")
