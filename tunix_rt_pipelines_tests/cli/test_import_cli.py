"""`tunix-rt dataset import`: a one-line summary on success; every bad row on stdout, one line on stderr, exit 1,
nothing written; the written folder is found by key by `validate-dataset` and `score` run from the same project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines_tests.cli.test_datasets_cli import PROBLEM_LINE
from tunix_rt_pipelines_tests.datasets.test_importer import _eval_records, _write_csv

MAP = ["--map", "id=qid", "--map", "prompt=question", "--map", "ground_truth=answer", "--category", "topic", "--difficulty", "level"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNIX_RT_DATASETS_DIR", raising=False)
    return tmp_path


def test_an_import_lands_in_the_projects_datasets_folder_and_is_found_by_key(project: Path, capsys):
    _write_csv(project / "evals.csv", _eval_records())
    assert main(["dataset", "import", "evals.csv", "--key", "my-evals-v1", "--kind", "eval", *MAP]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{project / 'datasets' / 'my-evals-v1'}: imported, my-evals-v1 v1, 24 eval rows, sha256 ")
    assert "ground_truth<-answer" in out
    assert main(["validate-dataset", "my-evals-v1"]) == 0
    assert "OK, my-evals-v1 v1, 24 eval rows" in capsys.readouterr().out
    assert main(["dataset", "import", "evals.csv", "--key", "my-evals-v1", "--kind", "eval", *MAP]) == 0
    assert "unchanged (the same content is already there)" in capsys.readouterr().out


def test_bad_rows_are_all_printed_and_nothing_is_written(project: Path, capsys):
    records = _eval_records()
    records[0]["answer"], records[6]["answer"] = "", ""
    _write_csv(project / "bad.csv", records)
    assert main(["dataset", "import", "bad.csv", "--key", "bad-v1", "--kind", "eval", *MAP]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines == ["bad.csv:1: answer: missing or empty (the contract's ground_truth)",
                     "bad.csv:7: answer: missing or empty (the contract's ground_truth)"]
    assert all(PROBLEM_LINE.match(line) for line in lines)
    assert captured.err == "bad.csv: NOT IMPORTED, 2 problem(s); nothing was written\n"
    assert not (project / "datasets").exists()


@pytest.mark.parametrize(("argv", "expected"), [
    (["--map", "ground_truth"], "error: --map 'ground_truth': expected FIELD=COLUMN"),
    (["--map", "=answer"], "error: --map '=answer': expected FIELD=COLUMN"),
])
def test_a_malformed_map_is_a_usage_error(project: Path, capsys, argv, expected):
    _write_csv(project / "evals.csv", _eval_records())
    assert main(["dataset", "import", "evals.csv", "--key", "k-v1", "--kind", "eval", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1


def test_a_missing_source_is_one_line(project: Path, capsys):
    assert main(["dataset", "import", "nope.csv", "--key", "k-v1", "--kind", "eval"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "nope.csv:0: <file>: no such file or folder\n" and not (project / "datasets").exists()
