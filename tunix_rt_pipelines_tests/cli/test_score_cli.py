"""`tunix-rt score PREDICTIONS --dataset DATASET [--json]`.

Contract: the dataset may be a folder, a key under datasets/ or a bare `.jsonl` of eval items,
and all three score the same. `--json` prints one object with the documented keys (`metric`,
`version`, `score`, `n`, `ci95`, `by_category`, `by_difficulty`, `items` of `{id, expected,
extracted, correct, reason}`, `problems`). Every malformed prediction line, duplicate and
unknown id is reported as a `FILE:LINE: FIELD: message` problem and makes the exit code 1 (the
score is still printed). An unknown, broken or non-eval dataset is a clear one-line error, exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

GOLDEN = read_dataset(REAL_DATASETS / "golden-v1").rows
DOCUMENTED_KEYS = {"metric", "version", "score", "n", "ci95", "by_category", "by_difficulty", "items", "problems"}
EXTRA_KEYS = {"correct", "dataset", "missing"}  # printed too, beyond the list: pinned so a change is deliberate


def _write(path: Path, rows: list[dict], extra: bytes = b"") -> Path:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + extra)
    return path


def _predictions(tmp_path: Path, extra: bytes = b"") -> Path:
    """10 right (golden items 0-9, all addition), 5 wrong, 1 empty, the other 84 missing."""
    rows = [{"id": g.id, "prediction": f"Let me add.\nAnswer: {g.ground_truth}"} for g in GOLDEN[:10]]
    rows += [{"id": g.id, "prediction": "Answer: no idea"} for g in GOLDEN[10:15]]
    rows += [{"id": GOLDEN[15].id, "prediction": "Answer:"}]
    return _write(tmp_path / "predictions.jsonl", rows, extra)


def _score_json(predictions: Path, dataset: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    code = main(["score", str(predictions), "--dataset", dataset, "--json", "--allow-missing", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_json_output_has_exactly_the_documented_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _score_json(_predictions(tmp_path), str(REAL_DATASETS / "golden-v1"), capsys)

    assert code == 0
    assert set(out) == DOCUMENTED_KEYS | EXTRA_KEYS
    assert (out["metric"], out["version"], out["n"], out["correct"], out["problems"], out["missing"]) == ("answer_correctness", 1, 100, 10, [], 84)
    assert out["score"] == pytest.approx(0.10)
    assert out["ci95"] == pytest.approx([0.0552, 0.1744], abs=5e-5)  # Wilson 10/100
    assert out["dataset"] == {"key": "golden-v1", "sha256": "03869f42bff7d691c2d6b68280f4fd9070e4fee8eba3a77cb09ada1909a28ef5"}
    assert len(out["items"]) == 100
    assert all(set(item) == {"id", "expected", "extracted", "correct", "reason"} for item in out["items"])
    assert out["items"][0] == {"id": GOLDEN[0].id, "expected": GOLDEN[0].ground_truth, "extracted": GOLDEN[0].ground_truth,
                               "correct": True, "reason": "numeric"}
    reasons = [item["reason"] for item in out["items"]]
    assert (reasons.count("numeric"), reasons.count("mismatch"), reasons.count("empty"), reasons.count("missing")) == (10, 5, 1, 84)
    assert out["by_category"]["addition"] == {"score": pytest.approx(10 / 13), "correct": 10, "n": 13,
                                              "ci95": pytest.approx([0.4974, 0.9182], abs=5e-5)}
    assert out["by_category"]["subtraction"]["correct"] == 0
    assert sum(v["n"] for v in out["by_difficulty"].values()) == 100
    assert set(out["by_difficulty"]) == {"easy", "medium", "hard"}


@pytest.mark.parametrize(
    "dataset",
    [
        "folder",          # datasets/golden-v1
        "key",             # golden-v1, resolved under the datasets folder from any working directory
        "bare-jsonl",      # datasets/golden-v1/items.jsonl
    ],
)
def test_every_way_of_naming_the_dataset_scores_the_same(
    dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    predictions = _predictions(tmp_path)
    monkeypatch.chdir(tmp_path)  # so "golden-v1" cannot be a relative path by accident
    value = {"folder": str(REAL_DATASETS / "golden-v1"), "key": "golden-v1",
             "bare-jsonl": str(REAL_DATASETS / "golden-v1" / "items.jsonl")}[dataset]

    code, out = _score_json(predictions, value, capsys)

    assert code == 0
    assert (out["score"], out["n"], out["dataset"]["sha256"][:12]) == (pytest.approx(0.10), 100, "03869f42bff7")
    assert [i["correct"] for i in out["items"]].count(True) == 10


def test_problems_in_predictions_are_reported_not_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = b"".join([
        b"{bad\n",                                                                     # line 17: not JSON
        json.dumps({"id": "nope-1", "prediction": "Answer: 1"}).encode() + b"\n",      # line 18: unknown id
        json.dumps({"id": GOLDEN[0].id, "prediction": "Answer: 0"}).encode() + b"\n",  # line 19: duplicate id
        b"[1, 2]\n",                                                                   # line 20: not an object
        json.dumps({"id": GOLDEN[20].id}).encode() + b"\n",                            # line 21: no prediction
        b"\xff\n",                                                                     # line 22: not UTF-8
        b"\n",                                                                         # line 23: blank
    ])
    predictions = _predictions(tmp_path, extra)

    code, out = _score_json(predictions, str(REAL_DATASETS / "golden-v1"), capsys)

    assert code == 1
    assert out["problems"] == [
        f"{predictions}:17: <json>: invalid JSON at column 2: Expecting property name enclosed in double quotes",
        f"{predictions}:18: id: unknown id 'nope-1': not in the dataset",
        f"{predictions}:19: id: duplicate id '{GOLDEN[0].id}' (first on line 1); this one is ignored",
        f"{predictions}:20: <row>: expected a JSON object, got list",
        f"{predictions}:21: prediction: missing or not a string",
        f"{predictions}:22: <line>: not valid UTF-8 (byte 0); re-save the file as UTF-8",
        f"{predictions}:23: <line>: blank line; remove it",
    ]
    assert out["correct"] == 10  # the first prediction for a duplicated id is the one scored


def test_text_output_and_problems_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    predictions = _predictions(tmp_path, json.dumps({"id": "nope-1", "prediction": "1"}).encode() + b"\n")

    code = main(["score", str(predictions), "--dataset", str(REAL_DATASETS / "golden-v1"), "--allow-missing"])

    captured = capsys.readouterr()
    assert code == 1
    out = captured.out.splitlines()
    assert out[0] == "answer_correctness@v1 on golden-v1 (03869f42bff7): 0.100 (10/100), 95% CI [0.055, 0.174]"
    assert out[1].startswith("  by category: addition 0.77 (10/13), count 0.00 (0/12)")
    assert out[2] == "  by difficulty: easy 0.12 (5/40), hard 0.00 (0/24), medium 0.14 (5/36)"
    assert captured.err == (f"{predictions}:17: id: unknown id 'nope-1': not in the dataset\n"
                            f"warning: 84 of 100 items of golden-v1 have no prediction in {predictions} and were scored as wrong\n")


def test_missing_predictions_file_scores_zero_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _score_json(tmp_path / "absent.jsonl", str(REAL_DATASETS / "golden-v1"), capsys)
    assert code == 1
    assert out["problems"] == [f"{tmp_path / 'absent.jsonl'}:0: <file>: cannot read: No such file or directory"]
    assert (out["score"], out["n"]) == (0.0, 100)


def test_unknown_dataset_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["score", str(_predictions(tmp_path)), "--dataset", "golden-v9"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.startswith("error: dataset 'golden-v9' is neither a path nor a key under ") and captured.err.count("\n") == 1


def test_a_traces_dataset_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["score", str(_predictions(tmp_path)), "--dataset", "reasoning-traces-v1"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    assert captured.err == "error: dataset reasoning-traces-v1 is not an eval set; nothing scored\n"


def test_a_broken_dataset_is_refused_with_its_problems(datasets_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = datasets_copy / "golden-v1" / "items.jsonl"
    items.write_bytes(items.read_bytes() + b"{bad\n")

    code = main(["score", str(_predictions(tmp_path)), "--dataset", str(datasets_copy / "golden-v1")])

    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    err = captured.err.splitlines()
    assert "golden-v1/items.jsonl:101: <json>: invalid JSON at column 2: Expecting property name enclosed in double quotes" in err
    assert err[-1] == f"error: dataset {datasets_copy / 'golden-v1'} has 3 problem(s); nothing scored"


@pytest.mark.parametrize("line", [b'{"id": ' + b"9" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000], ids=["huge-integer", "deep-nesting"])
def test_pathological_prediction_lines_are_reported(line: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    predictions = _predictions(tmp_path, line + b"\n")
    code = main(["score", str(predictions), "--dataset", str(REAL_DATASETS / "golden-v1"), "--json"])
    printed = capsys.readouterr().out
    assert code == 1 and printed, "no report printed: the reader raised"
    assert [p.split(": ")[0] for p in json.loads(printed)["problems"]] == [f"{predictions}:17"]


@pytest.mark.parametrize("covered, code", [(0, 1), (10, 1), (100, 0)], ids=["empty-file", "10-of-100", "all"])
def test_missing_items_are_counted_loudly_and_fail_unless_allowed(covered: int, code: int, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    predictions = _write(tmp_path / "p.jsonl", [{"id": g.id, "prediction": f"Answer: {g.ground_truth}"} for g in GOLDEN[:covered]])
    assert main(["score", str(predictions), "--dataset", "golden-v1"]) == code
    err = capsys.readouterr().err
    if covered < 100:
        assert err == (f"error: {100 - covered} of 100 items of golden-v1 have no prediction in {predictions} and were scored as wrong; "
                       "pass --allow-missing to accept that\n")
        assert main(["score", str(predictions), "--dataset", "golden-v1", "--allow-missing"]) == 0
        assert capsys.readouterr().err.startswith(f"warning: {100 - covered} of 100 items")
    else:
        assert err == ""


def test_a_fifo_or_a_device_is_refused_without_reading_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    for path in (fifo, Path("/dev/zero"), tmp_path):
        code, out = _score_json(path, "golden-v1", capsys)
        assert code == 1
        (problem,) = out["problems"]
        assert problem.startswith(f"{path}:0: <file>: ") and ("not a regular file" in problem or "Is a directory" in problem)


def test_a_lone_surrogate_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    predictions = _predictions(tmp_path, b'{"id": "x", "prediction": "\\ud800"}\n')
    code, out = _score_json(predictions, "golden-v1", capsys)
    assert code == 1
    assert out["problems"] == [f"{predictions}:17: <json>: a lone surrogate escape (\\ud800) is not text; write the character "
                               "itself or a valid surrogate pair"]
