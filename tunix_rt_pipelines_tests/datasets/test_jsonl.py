"""Reading, validating and hashing dataset files.

Contract: `read_jsonl` / `read_dataset` never skip a bad line silently and never raise on bad
input: every problem becomes one `FILE:LINE: FIELD: message` (line 0 = the file as a whole), ALL
of them are reported in line order, and the valid rows are still returned. A dataset folder's
manifest is cross-checked against its items (count, sha256 of the canonical content,
composition, key = folder name, eval sets of 20-200 items). The strict loader is tested in
test_refs.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.generate import make_manifest, manifest_bytes, write_dataset
from tunix_rt_pipelines.lib.datasets.reader import (
    Problem,
    normalize_prompt,
    read_dataset,
    read_jsonl,
)
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

ITEM = {"id": "g1-add-000", "prompt": "What is 64 + 9?", "ground_truth": "73", "category": "addition", "difficulty": "easy"}
GOLDEN_SHA = "03869f42bff7d691c2d6b68280f4fd9070e4fee8eba3a77cb09ada1909a28ef5"  # golden-v1/manifest.json


def _line(row: dict) -> bytes:
    return json.dumps(row).encode("utf-8") + b"\n"


def _read(tmp_path: Path, content: bytes, kind: str | None = "eval") -> list[str]:
    path = tmp_path / "items.jsonl"
    path.write_bytes(content)
    return [str(p) for p in read_jsonl(path, kind=kind, display="items.jsonl").problems]


def _edit_manifest(folder: Path, **changes: object) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _folder_problems(folder: Path) -> list[str]:
    return [str(p) for p in read_dataset(folder).all_problems]


def test_problem_prints_as_file_line_field_message() -> None:
    assert str(Problem("golden-v1/items.jsonl", 7, "prompt", "field required")) == "golden-v1/items.jsonl:7: prompt: field required"


# --- one test per line-level message ------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_line(ITEM) + b'{"id\xff": 1}\n',
         "items.jsonl:2: <line>: not valid UTF-8 (byte 4); re-save the file as UTF-8"),              # invalid UTF-8
        (_line(ITEM) + "é".encode("latin-1") + b"\n",
         "items.jsonl:2: <line>: not valid UTF-8 (byte 0); re-save the file as UTF-8"),              # Latin-1 text
        (_line(ITEM) + b"\n" + _line({**ITEM, "id": "g1-add-001"}),
         "items.jsonl:2: <line>: blank line; remove it"),                                            # blank line in the middle
        (_line(ITEM) + b" \t\n", "items.jsonl:2: <line>: blank line; remove it"),                   # whitespace-only line
        (b"{bad\n", "items.jsonl:1: <json>: invalid JSON at column 2: Expecting property name enclosed in double quotes"),  # invalid JSON
        (b'{"id": "a",}\n', "items.jsonl:1: <json>: invalid JSON at column 12: Expecting property name enclosed in double quotes"),  # trailing comma
        (b"\xef\xbb\xbf" + _line(ITEM), "items.jsonl:1: <json>: invalid JSON at column 1: Unexpected UTF-8 BOM (decode using utf-8-sig)"),  # BOM
        (b"[1, 2]\n", "items.jsonl:1: <row>: expected a JSON object, got list"),                    # non-object rows
        (b'"text"\n', "items.jsonl:1: <row>: expected a JSON object, got str"),
        (b"null\n", "items.jsonl:1: <row>: expected a JSON object, got NoneType"),
        (_line(ITEM) + _line(ITEM), "items.jsonl:2: id: duplicate id 'g1-add-000' (first on line 1)"),  # duplicate id
        (b"", "items.jsonl:0: <file>: no items: the dataset is empty"),                              # empty file
    ],
)
def test_line_problem_is_one_exact_line(tmp_path: Path, content: bytes, expected: str) -> None:
    assert _read(tmp_path, content) == [expected]


@pytest.mark.parametrize(
    "content",
    [
        _line(ITEM).rstrip(b"\n"),                  # no final newline
        _line(ITEM).replace(b"\n", b"\r\n"),        # Windows line ending
        b'{"category":"addition","difficulty":"easy","ground_truth":"73","id":"g1-add-000","prompt":"What is 64 + 9?"}\n',  # canonical form
    ],
)
def test_well_formed_variants_are_clean(tmp_path: Path, content: bytes) -> None:
    assert _read(tmp_path, content) == []


def test_every_problem_is_reported_in_line_order_and_good_rows_are_kept(tmp_path: Path) -> None:
    content = b"".join([
        _line(ITEM),                                             # 1 good
        b"\xff\n",                                               # 2 not UTF-8
        b"\n",                                                   # 3 blank
        b"{bad\n",                                               # 4 not JSON
        b"[1]\n",                                                # 5 not an object
        _line({k: v for k, v in ITEM.items() if k != "prompt"}),  # 6 missing field
        _line({**ITEM, "difficulty": "x", "extra": 1}),          # 7 two problems in one row
        _line(ITEM),                                             # 8 duplicate id
        _line({**ITEM, "id": "g1-add-009"}),                     # 9 good
    ])
    path = tmp_path / "items.jsonl"
    path.write_bytes(content)

    data = read_jsonl(path, kind="eval", display="items.jsonl")

    assert [str(p) for p in data.problems] == [
        "items.jsonl:2: <line>: not valid UTF-8 (byte 0); re-save the file as UTF-8",
        "items.jsonl:3: <line>: blank line; remove it",
        "items.jsonl:4: <json>: invalid JSON at column 2: Expecting property name enclosed in double quotes",
        "items.jsonl:5: <row>: expected a JSON object, got list",
        "items.jsonl:6: prompt: field required",
        "items.jsonl:7: difficulty: Input should be 'easy', 'medium', 'hard' or 'unspecified'",
        "items.jsonl:7: extra: unknown field (not in the data contract; remove it or fix its name)",
        "items.jsonl:8: id: duplicate id 'g1-add-000' (first on line 1)",
    ]
    assert [r.id for r in data.rows] == ["g1-add-000", "g1-add-009"]
    assert data.line_count == 9


@pytest.mark.parametrize(
    "line",
    [
        b'{"id": "a", "prompt": "\\ud800"}',        # a lone surrogate escape: json.loads accepts it, .encode("utf-8") fails
        b"[" * 100_000 + b"]" * 100_000,            # nesting deeper than the recursion limit
        b'{"id": ' + b"1" * 5000 + b"}",            # an integer longer than Python's 4300-digit str limit
    ],
    ids=["lone-surrogate", "deep-nesting", "huge-integer"],
)
def test_pathological_json_is_a_problem_not_an_exception(tmp_path: Path, line: bytes) -> None:
    problems = _read(tmp_path, _line(ITEM) + line + b"\n")
    assert len(problems) == 1 and problems[0].startswith("items.jsonl:2: ")


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        (ITEM, "eval"),                                                                 # has ground_truth
        ({"id": "t1", "prompt": "p", "steps": [], "answer": "a", "category": "count", "difficulty": "easy"}, "traces"),  # has answer/steps
    ],
)
def test_a_bare_file_guesses_its_kind(tmp_path: Path, row: dict, kind: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(_line(row))
    data = read_dataset(path)
    assert (data.kind, data.all_problems, len(data.rows)) == (kind, [], 1)


# --- one test per folder/manifest-level message -------------------------------------------


def test_the_committed_datasets_are_clean() -> None:
    for key, count in (("golden-v1", 100), ("reasoning-traces-v1", 6000)):
        data = read_dataset(REAL_DATASETS / key)
        assert data.all_problems == [], key
        assert (len(data.rows), data.sha256) == (count, data.manifest.sha256)


def test_missing_manifest(datasets_copy: Path) -> None:
    (datasets_copy / "golden-v1" / "manifest.json").unlink()
    assert _folder_problems(datasets_copy / "golden-v1") == [
        "golden-v1/manifest.json:0: <file>: missing; every dataset folder needs a manifest.json"
    ]


def test_manifest_count_mismatch(datasets_copy: Path) -> None:
    _edit_manifest(datasets_copy / "golden-v1", count=99)
    assert _folder_problems(datasets_copy / "golden-v1") == [
        "golden-v1/manifest.json:0: count: manifest says 99 items but items.jsonl has 100"
    ]


def test_manifest_sha_mismatch(datasets_copy: Path) -> None:
    _edit_manifest(datasets_copy / "golden-v1", sha256="0" * 64)
    assert _folder_problems(datasets_copy / "golden-v1") == [
        "golden-v1/manifest.json:0: sha256: manifest says 000000000000… but the content hashes to 03869f42bff7…; "
        "the items changed after the manifest was written (regenerate, or restore the original file)"
    ]


def test_manifest_composition_mismatch(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["composition"]["by_difficulty"] = {"easy": 100}
    _edit_manifest(folder, composition=manifest["composition"])
    assert _folder_problems(folder) == ["golden-v1/manifest.json:0: composition: does not match the items' categories and difficulties"]


def test_manifest_key_differs_from_folder_name(datasets_copy: Path) -> None:
    renamed = shutil.copytree(datasets_copy / "golden-v1", datasets_copy / "golden-v2")
    assert _folder_problems(renamed) == ["golden-v2/manifest.json:0: key: manifest key 'golden-v1' differs from the folder name 'golden-v2'"]


def _eval_folder(tmp_path: Path, size: int) -> Path:
    """A valid eval dataset of `size` items (golden-v1 repeated under new ids) with a matching manifest."""
    golden = read_dataset(REAL_DATASETS / "golden-v1").rows
    rows = [g.model_copy(update={"id": f"{g.id}-{copy}"}) for copy in range(3) for g in golden][:size]
    folder = tmp_path / "some-eval"
    write_dataset(folder, rows, make_manifest("some-eval", "eval", rows, seed=0))
    return folder


@pytest.mark.parametrize("size", [19, 201], ids=["too-small", "too-large"])
def test_eval_set_size_outside_20_to_200(tmp_path: Path, size: int) -> None:
    assert _folder_problems(_eval_folder(tmp_path, size)) == [
        f"some-eval/manifest.json:0: count: an eval set holds 20-200 items, this one {size}"
    ]


@pytest.mark.parametrize("size", [20, 200], ids=["lower-bound", "upper-bound"])
def test_eval_set_size_bounds_are_inclusive(tmp_path: Path, size: int) -> None:
    assert _folder_problems(_eval_folder(tmp_path, size)) == []


def test_missing_items_file(datasets_copy: Path) -> None:
    (datasets_copy / "golden-v1" / "items.jsonl").unlink()
    assert _folder_problems(datasets_copy / "golden-v1") == [
        "golden-v1/items.jsonl:0: <file>: cannot read: No such file or directory"
    ]


def _make_items_unreadable(folder: Path) -> None:
    (folder / "items.jsonl").unlink()
    (folder / "items.jsonl").mkdir()  # a folder where the file should be (tests run as root: chmod 000 would not stop a read)


def test_unreadable_items_file(datasets_copy: Path) -> None:
    _make_items_unreadable(datasets_copy / "golden-v1")
    assert "golden-v1/items.jsonl:0: <file>: cannot read: Is a directory" in _folder_problems(datasets_copy / "golden-v1")


def test_unreadable_items_file_is_the_only_problem(datasets_copy: Path) -> None:
    _make_items_unreadable(datasets_copy / "golden-v1")
    assert _folder_problems(datasets_copy / "golden-v1") == ["golden-v1/items.jsonl:0: <file>: cannot read: Is a directory"]


def test_no_such_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert _folder_problems(missing) == [f"{missing}:0: <path>: no such dataset folder or .jsonl file"]


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (b"\xff{}", "golden-v1/manifest.json:0: <file>: not valid UTF-8 (byte 0)"),                         # not UTF-8
        (b"{not json", "golden-v1/manifest.json:1: <row>: Invalid JSON: key must be a string at line 1 column 2"),  # not JSON
    ],
)
def test_unparseable_manifest(datasets_copy: Path, manifest: bytes, expected: str) -> None:
    (datasets_copy / "golden-v1" / "manifest.json").write_bytes(manifest)
    assert _folder_problems(datasets_copy / "golden-v1") == [expected]


def test_manifest_field_problem_names_the_line_of_that_field(datasets_copy: Path) -> None:
    _edit_manifest(datasets_copy / "golden-v1", sha256="nothex")
    text = (datasets_copy / "golden-v1" / "manifest.json").read_text()
    line = text.splitlines().index('  "sha256": "nothex",') + 1
    assert _folder_problems(datasets_copy / "golden-v1") == [
        f"golden-v1/manifest.json:{line}: sha256: String should match pattern '^[0-9a-f]{{64}}$'"
    ]


def test_manifest_count_problem_names_the_top_level_count_line(datasets_copy: Path) -> None:
    _edit_manifest(datasets_copy / "golden-v1", count="many")
    text = (datasets_copy / "golden-v1" / "manifest.json").read_text()
    line = text.splitlines().index('  "count": "many",') + 1
    [problem] = read_dataset(datasets_copy / "golden-v1").all_problems
    assert (problem.field, problem.line) == ("count", line)


def test_manifest_and_item_problems_are_all_reported(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    lines = (folder / "items.jsonl").read_bytes().splitlines(keepends=True)
    lines[9] = b"{bad\n"
    (folder / "items.jsonl").write_bytes(b"".join(lines))
    _edit_manifest(folder, key="golden-v9")
    problems = _folder_problems(folder)
    assert problems[0].startswith("golden-v1/manifest.json:0: sha256: manifest says 03869f42bff7…")
    assert problems[1:] == [
        "golden-v1/manifest.json:0: key: manifest key 'golden-v9' differs from the folder name 'golden-v1'",
        "golden-v1/items.jsonl:10: <json>: invalid JSON at column 2: Expecting property name enclosed in double quotes",
    ]


# --- content hash -------------------------------------------------------------------------


def test_sha256_covers_the_canonical_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(_line(ITEM))
    b.write_text(json.dumps(dict(reversed(list(ITEM.items()))), indent=None, separators=(", ", " : ")) + "\n")
    canonical = json.dumps(ITEM, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert read_jsonl(a).sha256 == read_jsonl(b).sha256 == hashlib.sha256(canonical.encode()).hexdigest()


def test_sha256_changes_with_the_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(_line(ITEM))
    b.write_bytes(_line({**ITEM, "ground_truth": "74"}))
    assert read_jsonl(a).sha256 != read_jsonl(b).sha256


def test_committed_manifest_bytes_are_what_the_generator_writes(datasets_copy: Path) -> None:
    folder = datasets_copy / "golden-v1"
    data = read_dataset(folder)
    assert manifest_bytes(data.manifest) == (folder / "manifest.json").read_bytes()


# --- prompt identity for the overlap check -------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("What is 64 + 9?", "what is 64 + 9?"),        # case-folded
        ("  What  is\t64 +\n9? ", "what is 64 + 9?"),  # whitespace collapsed and trimmed
        ("Ｗｈａｔ ｉｓ ６４ ＋ ９?", "what is 64 + 9?"),    # NFKC full-width forms
        ("Reverse 'STRASSE'.", "reverse 'strasse'."),  # punctuation is kept: only case and spacing fold
    ],
)
def test_normalize_prompt(prompt: str, expected: str) -> None:
    assert normalize_prompt(prompt) == expected
