"""`tunix-rt validate-dataset` and `tunix-rt generate-datasets`.

Contract: `validate-dataset PATH` (a dataset folder or a bare `.jsonl`) exits 0 with a one-line
summary when valid; otherwise exits 1 and prints every problem, one `FILE:LINE: FIELD: message`
line each, on stdout. Whatever the bytes in the file, it never prints a traceback.
`generate-datasets --check` exits 0 when the committed files are what the generator makes and 1
(naming each differing file) when they are not. The installed console script does the same.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

PROBLEM_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<field>\S+): (?P<message>\S.*)$")


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["validate-dataset", str(path)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


@pytest.mark.parametrize(
    ("target", "summary"),
    [
        ("golden-v1", "OK, golden-v1 v1, 100 eval rows, sha256 03869f42bff7"),                  # an eval folder
        ("reasoning-traces-v1", "OK, reasoning-traces-v1 v1, 6000 traces rows, sha256 1b76bebfd588"),  # a traces folder
        ("golden-v1/items.jsonl", "OK, items, 100 eval rows, sha256 03869f42bff7"),             # a bare .jsonl
    ],
)
def test_valid_dataset_exits_0_with_one_summary_line(target: str, summary: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = REAL_DATASETS / target
    code, out, err = _validate(path, capsys)
    assert (code, out, err) == (0, [f"{path}: {summary}"], "")


def test_corrupted_copy_prints_one_line_per_problem(datasets_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = datasets_copy / "golden-v1"
    lines = (folder / "items.jsonl").read_bytes().splitlines(keepends=True)
    item = json.loads(lines[4])
    lines[4] = json.dumps({**item, "difficulty": "extreme"}).encode() + b"\n"
    lines[10] = b"\n"
    lines[20] = b'{"id": \n'
    lines[30] = lines[0]  # a duplicate of line 1
    (folder / "items.jsonl").write_bytes(b"".join(lines))

    code, out, err = _validate(folder, capsys)

    assert code == 1
    assert out[1:] == [
        "golden-v1/items.jsonl:5: difficulty: Input should be 'easy', 'medium', 'hard' or 'unspecified'",
        "golden-v1/items.jsonl:11: <line>: blank line; remove it",
        "golden-v1/items.jsonl:21: <json>: invalid JSON at column 8: Expecting value",
        "golden-v1/items.jsonl:31: id: duplicate id 'g1-add-000' (first on line 1)",
    ]
    assert out[0].startswith("golden-v1/manifest.json:0: sha256: manifest says 03869f42bff7…")  # the content changed
    assert all(PROBLEM_LINE.match(line) for line in out)
    assert err == f"{folder}: INVALID, 5 problem(s)\n"


def _random(seed: int, size: int = 4096) -> bytes:
    return random.Random(seed).randbytes(size)


def _file(name: str, content: bytes):
    def make(tmp_path: Path) -> Path:
        (tmp_path / name).write_bytes(content)
        return tmp_path / name
    return make


def _folder(files: dict[str, bytes]):
    def make(tmp_path: Path) -> Path:
        folder = tmp_path / "golden-v1"
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(content)
        return folder
    return make


GOLDEN_ITEMS = (REAL_DATASETS / "golden-v1" / "items.jsonl").read_bytes()
GOLDEN_MANIFEST = (REAL_DATASETS / "golden-v1" / "manifest.json").read_bytes()
NASTY = {
    "random-1": _file("x.jsonl", _random(1)),                                     # random bytes, few newlines
    "random-2": _file("x.jsonl", _random(2, 65536)),                              # more random bytes
    "random-lines": _file("x.jsonl", b"\n".join(_random(s, 40) for s in range(50))),  # random bytes, many lines
    "urandom": _file("x.jsonl", os.urandom(2048)),                                # truly random, new every run
    "gzip": _file("x.jsonl", gzip.compress(GOLDEN_ITEMS, mtime=0)),               # a compressed file by mistake
    "utf-16": _file("x.jsonl", GOLDEN_ITEMS.decode().encode("utf-16")),           # the wrong encoding
    "nul-bytes": _file("x.jsonl", b"\x00" * 100 + b"\n" + b"\x00\n"),             # NUL bytes
    "empty-file": _file("x.jsonl", b""),                                          # nothing at all
    "only-newlines": _file("x.jsonl", b"\n\n\n"),                                 # blank lines only
    "a-png": _file("x.jsonl", b"\x89PNG\r\n\x1a\n" + _random(3, 200)),            # an image
    "json-not-jsonl": _file("x.jsonl", GOLDEN_MANIFEST),                          # pretty-printed JSON
    "empty-folder": _folder({}),                                                  # no manifest, no items
    "no-manifest": _folder({"items.jsonl": GOLDEN_ITEMS}),                        # items without a manifest
    "random-manifest": _folder({"items.jsonl": GOLDEN_ITEMS, "manifest.json": _random(4, 500)}),
    "random-both": _folder({"items.jsonl": _random(5), "manifest.json": _random(6)}),
    "manifest-is-a-list": _folder({"items.jsonl": GOLDEN_ITEMS, "manifest.json": b"[1, 2]"}),
}


@pytest.mark.parametrize("make", NASTY.values(), ids=NASTY.keys())
def test_nasty_input_exits_1_with_problem_lines_and_no_traceback(make, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path)

    code, out, err = _validate(path, capsys)

    assert code == 1
    assert out, "at least one problem is printed"
    assert [line for line in out if not PROBLEM_LINE.match(line)] == []
    assert err.endswith(f"{path}: INVALID, {len(out)} problem(s)\n")


def test_missing_path_is_a_problem_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _validate(tmp_path / "no-such-dataset", capsys)
    assert (code, out) == (1, [f"{tmp_path / 'no-such-dataset'}:0: <path>: no such dataset folder or .jsonl file"])


PATHOLOGICAL = {
    "lone-surrogate": b'{"id": "a", "prompt": "\\ud800"}\n',       # valid UTF-8 and JSON, not valid Unicode
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000 + b"\n",       # deeper than the recursion limit
    "huge-integer": b'{"id": ' + b"9" * 5000 + b"}\n",             # over Python's int-string limit
}


@pytest.mark.parametrize("content", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_json_never_shows_a_traceback(content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    code, out, err = _validate(path, capsys)
    assert code == 1
    assert out and [line for line in out if not PROBLEM_LINE.match(line)] == []  # reported by the reader...
    assert err == f"{path}: INVALID, {len(out)} problem(s)\n"  # ...not by main()'s last-resort "error:" handler


@pytest.mark.parametrize("content", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_json_is_a_line_numbered_problem(content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    _, out, _ = _validate(path, capsys)
    assert len(out) == 1 and out[0].startswith(f"{path}:1: ")


def test_a_field_name_with_a_newline_stays_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = {"id": "a", "prompt": "p", "ground_truth": "g", "category": "c", "difficulty": "easy", "x\ny": 1}
    (tmp_path / "x.jsonl").write_text(json.dumps(row) + "\n")
    _, out, _ = _validate(tmp_path / "x.jsonl", capsys)
    assert len(out) == 1 and PROBLEM_LINE.match(out[0])


def test_generate_datasets_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate-datasets", "--check"]) == 0
    assert capsys.readouterr().out == f"{REAL_DATASETS}: OK, byte-identical\n"


def test_generate_datasets_check_names_a_differing_file_and_regeneration_fixes_it(
    datasets_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = datasets_copy / "reasoning-traces-v1" / "items.jsonl"
    items.write_bytes(items.read_bytes()[:-200])  # truncated

    assert main(["generate-datasets", "--check", "--datasets-dir", str(datasets_copy)]) == 1
    assert capsys.readouterr().out.splitlines() == [f"{items}: differs from what the generator makes", f"{datasets_copy}: 1 file(s) differ"]

    assert main(["generate-datasets", "--datasets-dir", str(datasets_copy)]) == 0
    assert main(["generate-datasets", "--check", "--datasets-dir", str(datasets_copy)]) == 0
    assert items.read_bytes() == (REAL_DATASETS / "reasoning-traces-v1" / "items.jsonl").read_bytes()


def test_the_console_script_end_to_end(datasets_copy: Path) -> None:
    """The installed `tunix-rt` entry point, in a fresh process, on a valid and a corrupted dataset."""
    script = Path(sys.executable).with_name("tunix-rt")
    assert script.exists(), f"console script not installed next to {sys.executable}"
    folder = datasets_copy / "golden-v1"

    ok = subprocess.run([str(script), "validate-dataset", str(folder)], capture_output=True, text=True, timeout=120)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, f"{folder}: OK, golden-v1 v1, 100 eval rows, sha256 03869f42bff7\n", "")

    (folder / "items.jsonl").write_bytes(b"\xff\xfe garbage\n" + (folder / "items.jsonl").read_bytes() + b'{"id": \n')
    bad = subprocess.run([str(script), "validate-dataset", str(folder)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stdout + bad.stderr
    out = bad.stdout.splitlines()
    assert out[0] == "golden-v1/manifest.json:0: count: manifest says 100 items but items.jsonl has 102"
    assert out[2:] == [
        "golden-v1/items.jsonl:1: <line>: not valid UTF-8 (byte 0); re-save the file as UTF-8",
        "golden-v1/items.jsonl:102: <json>: invalid JSON at column 8: Expecting value",
    ]
    assert all(PROBLEM_LINE.match(line) for line in out)
    assert bad.stderr == f"{folder}: INVALID, 4 problem(s)\n"
