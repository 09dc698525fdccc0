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


def _hostile_sources(root: Path) -> list[tuple[str, list[str]]]:
    """(source, extra argv) pairs that must each be refused cleanly."""
    import datasets

    cases: list[tuple[str, list[str]]] = []

    def file(name: str, data: bytes | str, *extra: str) -> None:
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        cases.append((name, list(extra)))

    file("empty.csv", b"")
    file("header-only.csv", "prompt,ground_truth\n")
    file("garbage.csv", bytes(range(256)) * 4)
    file("garbage.parquet", b"PAR1" + bytes(100) + b"PAR1")
    file("empty.jsonl", b"")
    file("not-json.jsonl", "{prompt: 1}\n")
    file("scalars.jsonl", "1\n2\n3\n")
    file("object.json", '{"prompt": "a", "ground_truth": "b"}')
    file("nested.jsonl", "".join(f'{{"prompt": {{"x": {i}}}, "ground_truth": "1"}}\n' for i in range(25)))
    file("list-answer.jsonl", "".join(f'{{"prompt": "p{i}", "ground_truth": [1, 2]}}\n' for i in range(25)))
    file("blank-prompts.csv", "prompt,ground_truth\n" + "".join(f" ,{i}\n" for i in range(25)))
    file("dupes.csv", "prompt,ground_truth\n" + "same,1\n" * 25)
    file("latin1.csv", b"")
    (root / "latin1.csv").write_bytes(b"prompt,ground_truth\n" + b"".join(f"caf\xe9 {i},1\n".encode("latin-1") for i in range(25)))
    file("ok-but-small.csv", "prompt,ground_truth\n" + "".join(f"q{i},{i}\n" for i in range(5)))
    file("traces-int-steps.jsonl", "".join(f'{{"prompt": "p{i}", "answer": "a", "steps": {i}}}\n' for i in range(3)), "--kind", "traces")
    file("traces.csv", "q,a\nx,1\n", "--kind", "traces")  # no prompt/answer columns
    file("unknown-field.csv", "prompt,ground_truth\nx,1\n", "--map", "colour=prompt")
    file("bad-key.csv", "prompt,ground_truth\nx,1\n", "--key", "../escape")
    file("bad-key2.csv", "prompt,ground_truth\nx,1\n", "--key", "")
    file("no-suffix", "prompt,ground_truth\nx,1\n")
    file("hard-level.csv", "prompt,ground_truth,difficulty\n" + "".join(f"q{i},{i},impossible\n" for i in range(25)))
    (root / "folder").mkdir()
    cases.append(("folder", []))
    datasets.DatasetDict({"a": datasets.Dataset.from_list([{"prompt": "x", "ground_truth": "1"}]),
                          "b": datasets.Dataset.from_list([{"prompt": "y", "ground_truth": "2"}])}).save_to_disk(str(root / "saved"))
    cases.append(("saved", []))
    cases.append(("saved", ["--split", "c"]))
    (root / "dangling").symlink_to(root / "nowhere.csv")
    cases.append(("dangling", []))
    return cases


def test_hostile_sources_are_refused_in_one_clean_line_and_leave_nothing(project: Path, capsys):
    sources = project / "sources"
    sources.mkdir()
    cases = _hostile_sources(sources)
    capsys.readouterr()  # save_to_disk's progress bars while building the cases
    assert len(cases) >= 25
    for name, extra in cases:
        argv = ["dataset", "import", str(sources / name), "--kind", "eval", "--key", "fuzz-v1", *extra]
        argv = argv if "--kind" not in extra else [a for i, a in enumerate(argv) if (i, a) not in ((3, "--kind"), (4, "eval"))]
        code = main(argv)
        captured = capsys.readouterr()
        assert code in (1, 2), (name, extra, captured)
        assert "Traceback" not in captured.out + captured.err, name
        assert captured.err.count("\n") == 1 and captured.err.strip(), (name, captured.err)
        assert all(PROBLEM_LINE.match(line) for line in captured.out.splitlines()), (name, captured.out)
        assert not (project / "datasets").exists(), name
