"""The data contract: what an eval item and a training trace may look like.

Contract: `EvalItem` and `TrainingTrace` are strict pydantic models (unknown fields are errors,
rows are frozen); ids, categories and difficulties follow fixed patterns, texts are non-empty,
trace steps are numbered 0..n-1 in order. Each way a row can break the contract surfaces from
`read_jsonl` as exactly one `FILE:LINE: FIELD: message` line (several when a row breaks several
rules), and every row of the committed datasets satisfies it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tunix_rt_pipelines.lib.datasets.contract import EvalItem, Manifest, TraceStep, TrainingTrace
from tunix_rt_pipelines.lib.datasets.reader import read_jsonl
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

ITEM = {"id": "g1-add-000", "prompt": "What is 64 + 9?", "ground_truth": "73", "category": "addition", "difficulty": "easy"}
TRACE = {"id": "t1-add-00000", "prompt": "What is 6 + 7?", "steps": [{"i": 0, "type": "compute", "content": "6+7=13"}],
         "answer": "13", "category": "addition", "difficulty": "easy"}
ID_RULE = "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'"
CATEGORY_RULE = "String should match pattern '^[a-z][a-z0-9_]{0,63}$'"
UNKNOWN = "unknown field (not in the data contract; remove it or fix its name)"


def _without(row: dict, key: str) -> dict:
    return {k: v for k, v in row.items() if k != key}


def _problems(tmp_path: Path, row: object, kind: str) -> list[str]:
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return [str(p) for p in read_jsonl(path, kind=kind, display="items.jsonl").problems]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_without(ITEM, "prompt"), "items.jsonl:1: prompt: field required"),                         # missing field
        ({**ITEM, "answer": "73"}, f"items.jsonl:1: answer: {UNKNOWN}"),                               # unknown field (a trace's)
        ({**ITEM, "ground_truth": 73}, "items.jsonl:1: ground_truth: Input should be a valid string"), # wrong type: a number
        ({**ITEM, "prompt": None}, "items.jsonl:1: prompt: Input should be a valid string"),           # wrong type: null
        ({**ITEM, "difficulty": "Easy"}, "items.jsonl:1: difficulty: Input should be 'easy', 'medium', 'hard' or 'unspecified'"),  # bad difficulty
        ({**ITEM, "prompt": ""}, "items.jsonl:1: prompt: String should have at least 1 character"),    # empty prompt
        ({**ITEM, "prompt": " \t "}, "items.jsonl:1: prompt: String should match pattern '\\S'"),      # whitespace-only prompt
        ({**ITEM, "ground_truth": ""}, "items.jsonl:1: ground_truth: String should have at least 1 character"),  # empty answer
        ({**ITEM, "id": "-g1"}, f"items.jsonl:1: id: {ID_RULE}"),                                      # id starts with punctuation
        ({**ITEM, "id": "g1 add"}, f"items.jsonl:1: id: {ID_RULE}"),                                   # id with a space
        ({**ITEM, "id": "g" * 129}, f"items.jsonl:1: id: {ID_RULE}"),                                  # id over 128 characters
        ({**ITEM, "id": 7}, "items.jsonl:1: id: Input should be a valid string"),                      # id not a string
        ({**ITEM, "category": "Addition"}, f"items.jsonl:1: category: {CATEGORY_RULE}"),               # upper-case category
        ({**ITEM, "category": "word-problem"}, f"items.jsonl:1: category: {CATEGORY_RULE}"),           # hyphen in category
    ],
)
def test_eval_item_violation_is_one_line(tmp_path: Path, row: dict, expected: str) -> None:
    assert _problems(tmp_path, row, "eval") == [expected]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({**TRACE, "steps": [{"i": 0, "type": "note", "content": "a"}, {"i": 2, "type": "compute", "content": "b"}]},
         "items.jsonl:1: <row>: Value error, steps must be numbered 0..1 in order; step 1 has i=2"),   # steps misnumbered
        ({**TRACE, "steps": [{"i": 1, "type": "note", "content": "a"}]},
         "items.jsonl:1: <row>: Value error, steps must be numbered 0..0 in order; step 0 has i=1"),   # numbering from 1
        ({**TRACE, "steps": [{"i": -1, "type": "note", "content": "a"}]},
         "items.jsonl:1: steps.0.i: Input should be greater than or equal to 0"),                     # negative step index
        ({**TRACE, "steps": [{"i": 0, "type": "think", "content": "a"}]},
         "items.jsonl:1: steps.0.type: Input should be 'compute' or 'note'"),                         # unknown step type
        ({**TRACE, "steps": [{"i": 0, "type": "note"}]}, "items.jsonl:1: steps.0.content: field required"),  # step without content
        ({**TRACE, "steps": [{"i": 0, "type": "note", "content": "a", "why": "b"}]},
         f"items.jsonl:1: steps.0.why: {UNKNOWN}"),                                                   # unknown step field
        ({**TRACE, "steps": "6+7=13"}, "items.jsonl:1: steps: Input should be a valid list"),          # steps not a list
        (_without(TRACE, "answer"), "items.jsonl:1: answer: field required"),                        # missing answer
        ({**TRACE, "ground_truth": "13"}, f"items.jsonl:1: ground_truth: {UNKNOWN}"),                  # an eval field in a trace
    ],
)
def test_training_trace_violation_is_one_line(tmp_path: Path, row: dict, expected: str) -> None:
    assert _problems(tmp_path, row, "traces") == [expected]


def test_a_row_breaking_several_rules_reports_each(tmp_path: Path) -> None:
    row = {"id": "-x", "prompt": "", "ground_truth": 1, "category": "A", "difficulty": "x", "zz": 1}
    assert _problems(tmp_path, row, "eval") == [
        f"items.jsonl:1: id: {ID_RULE}",
        "items.jsonl:1: prompt: String should have at least 1 character",
        "items.jsonl:1: ground_truth: Input should be a valid string",
        f"items.jsonl:1: category: {CATEGORY_RULE}",
        "items.jsonl:1: difficulty: Input should be 'easy', 'medium', 'hard' or 'unspecified'",
        f"items.jsonl:1: zz: {UNKNOWN}",
    ]


@pytest.mark.parametrize(
    "item_id",
    [
        "g1-add-000",          # the generator's form
        "a",                   # one character
        "A.b_c:d-e",           # every allowed punctuation mark
        "9" * 128,             # the maximum length
    ],
)
def test_valid_ids(item_id: str) -> None:
    assert EvalItem.model_validate({**ITEM, "id": item_id}).id == item_id


def test_a_trace_may_have_no_steps() -> None:
    assert TrainingTrace.model_validate({**TRACE, "steps": []}).steps == []


def test_rows_are_frozen() -> None:
    item = EvalItem.model_validate(ITEM)
    with pytest.raises(ValidationError):
        item.ground_truth = "74"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        TraceStep(i=0, type="note", content="x").content = "y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sha256", "ABC"),       # not 64 lower-case hex digits
        ("key", "Golden_v1"),    # keys are lower-case with hyphens
        ("kind", "test"),        # eval | traces
        ("count", -1),           # never negative
        ("schema_version", 0),   # starts at 1
        ("count", "100"),        # a string is not a count (strict: no silent coercion)
        ("count", 100.0),        # nor is a float
        ("schema_version", True),  # nor a boolean
        ("composition", {"category": {"addition": "13"}}),
    ],
)
def test_manifest_rejects_bad_values(field: str, value: object) -> None:
    manifest = json.loads((REAL_DATASETS / "golden-v1" / "manifest.json").read_text())
    Manifest.model_validate(manifest)  # the committed manifest is valid...
    with pytest.raises(ValidationError) as info:
        Manifest.model_validate({**manifest, field: value})
    assert [e["loc"][0] for e in info.value.errors()] == [field]  # ...and only the edited field is blamed


@pytest.mark.parametrize(("key", "model"), [("golden-v1", EvalItem), ("reasoning-traces-v1", TrainingTrace)])
def test_every_committed_row_satisfies_the_contract(key: str, model: type) -> None:
    lines = (REAL_DATASETS / key / "items.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [model.model_validate_json(line) for line in lines]
    assert len(rows) == len(lines) > 0
