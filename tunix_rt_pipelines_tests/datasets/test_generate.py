"""The deterministic dataset generator and the datasets it committed.

Contract: `regenerate(datasets_dir)` rebuilds golden-v1 and reasoning-traces-v1 and -v2 byte for byte
from the seeds in their manifests (`check=True` compares instead of writing and lists every
file that differs). golden-v1 holds 100 items over >= 6 task families and all three
difficulties; reasoning-traces-v1 holds >= 5,000 traces from the same families, with unique ids
and no normalised prompt shared with golden-v1. Every answer is what its prompt asks for, and
every arithmetic step is a true equation that leads to the answer.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.contract import DIFFICULTIES, UNSPECIFIED
from tunix_rt_pipelines.lib.datasets.families import FAMILIES
from tunix_rt_pipelines.lib.datasets.generate import GOLDEN_SEED, build_golden, regenerate
from tunix_rt_pipelines.lib.datasets.reader import canonical_jsonl, normalize_prompt, read_dataset
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

GRADED = set(DIFFICULTIES) - {UNSPECIFIED}  # the generator grades every item; "unspecified" is for imports
KEYS = ["golden-v1", "reasoning-traces-v1", "reasoning-traces-v2"]
TRACE_KEYS = KEYS[1:]
FILES = [f"{key}/{name}" for key in KEYS for name in ("items.jsonl", "manifest.json")]


@cache
def _rows(key: str) -> tuple:
    data = read_dataset(REAL_DATASETS / key)
    assert data.all_problems == []
    return tuple(data.rows)


# --- byte-for-byte regeneration ----------------------------------------------------------


def test_regenerate_rewrites_every_dataset_byte_for_byte(datasets_copy: Path) -> None:
    for key in KEYS:
        (datasets_copy / key / "items.jsonl").write_bytes(b"")  # the generator must rebuild, not keep
        manifest = json.loads((datasets_copy / key / "manifest.json").read_text())
        (datasets_copy / key / "manifest.json").write_text(json.dumps({"generator": {"seed": manifest["generator"]["seed"]}}))

    regenerate(datasets_copy)

    for name in FILES:
        assert (datasets_copy / name).read_bytes() == (REAL_DATASETS / name).read_bytes(), name


def test_check_on_the_repository_finds_nothing() -> None:
    assert regenerate(REAL_DATASETS, check=True) == []


@pytest.mark.parametrize("name", FILES)
def test_check_lists_exactly_the_corrupted_file_and_writes_nothing(datasets_copy: Path, name: str) -> None:
    path = datasets_copy / name
    corrupted = path.read_bytes().replace(b"1", b"2", 1)  # one character: an id "g1-"/"t1-" becomes "g2-"/"t2-"
    if name.endswith("manifest.json"):
        corrupted = path.read_bytes().replace(b'"count": 100', b'"count": 101').replace(b'"count": 6000', b'"count": 6001')
    path.write_bytes(corrupted)

    assert regenerate(datasets_copy, check=True) == [name]
    assert path.read_bytes() == corrupted


def test_check_lists_a_missing_file(datasets_copy: Path) -> None:
    (datasets_copy / "golden-v1" / "items.jsonl").unlink()
    assert regenerate(datasets_copy, check=True) == ["golden-v1/items.jsonl"]


def test_the_seed_comes_from_the_manifest(datasets_copy: Path) -> None:
    manifest_path = datasets_copy / "golden-v1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["generator"]["seed"] = 7
    manifest_path.write_text(json.dumps(manifest))

    assert {"golden-v1/items.jsonl", "golden-v1/manifest.json"} <= set(regenerate(datasets_copy, check=True))
    regenerate(datasets_copy)
    assert (datasets_copy / "golden-v1" / "items.jsonl").read_bytes() == canonical_jsonl(build_golden(7))
    assert json.loads(manifest_path.read_text())["generator"]["seed"] == 7
    assert read_dataset(datasets_copy / "golden-v1").all_problems == []


def test_build_golden_is_deterministic_and_seeded() -> None:
    assert build_golden(GOLDEN_SEED) == build_golden(GOLDEN_SEED) == list(_rows("golden-v1"))
    assert build_golden(GOLDEN_SEED + 1) != build_golden(GOLDEN_SEED)


# --- shape of the committed datasets -----------------------------------------------------


def test_golden_has_100_items_over_six_or_more_families_and_every_difficulty() -> None:
    golden = _rows("golden-v1")
    assert len(golden) == 100
    families = {g.category for g in golden}
    assert len(families) >= 6 and families <= set(FAMILIES)
    assert {g.difficulty for g in golden} == GRADED
    for family in families:  # a sensible mix: every family at every difficulty
        assert {g.difficulty for g in golden if g.category == family} == GRADED, family


@pytest.mark.parametrize("key", TRACE_KEYS)
def test_traces_are_many_from_the_same_families(key: str) -> None:
    traces = _rows(key)
    assert len(traces) >= 5000
    assert {t.category for t in traces} == {g.category for g in _rows("golden-v1")}
    assert {t.difficulty for t in traces} == GRADED


@pytest.mark.parametrize("key", KEYS)
def test_ids_and_prompts_are_unique_within_a_dataset(key: str) -> None:
    rows = _rows(key)
    assert len({r.id for r in rows}) == len(rows)
    assert len({normalize_prompt(r.prompt) for r in rows}) == len(rows)


@pytest.mark.parametrize("key", TRACE_KEYS)
def test_no_normalised_prompt_is_in_golden_and_a_trace_set(key: str) -> None:
    golden = {normalize_prompt(g.prompt) for g in _rows("golden-v1")}
    assert not golden & {normalize_prompt(t.prompt) for t in _rows(key)}


def test_v2_has_new_prompts_not_v1s() -> None:
    v1 = {normalize_prompt(t.prompt) for t in _rows("reasoning-traces-v1")}
    v2 = [normalize_prompt(t.prompt) for t in _rows("reasoning-traces-v2")]
    assert sum(p in v1 for p in v2) < len(v2) / 2  # a new seed: small string families overlap, most prompts are new


# --- every answer is right ---------------------------------------------------------------

_UNITS = {("km", "m"): 1000, ("m", "cm"): 100, ("cm", "mm"): 10, ("kg", "g"): 1000, ("L", "mL"): 1000,
          ("g", "mg"): 1000, ("h", "min"): 60, ("min", "s"): 60, ("day", "h"): 24}


def _solve(prompt: str) -> Fraction | str:
    """The answer to a generated prompt, worked out independently of families.py."""
    if m := re.fullmatch(r"What is (\d+) ([-+*]) (\d+)\?", prompt):
        a, op, b = int(m[1]), m[2], int(m[3])
        return Fraction({"+": a + b, "-": a - b, "*": a * b}[op])
    if m := re.fullmatch(r"Reverse the letters of '([a-z]+)'\.", prompt):
        return m[1][::-1]
    if m := re.fullmatch(r"Sort the letters of '([a-z]+)'\.", prompt):
        return "".join(sorted(m[1]))
    if m := re.fullmatch(r"How many times does '([a-z])' appear in '([a-z]+)'\?", prompt):
        return Fraction(m[2].count(m[1]))
    if m := re.fullmatch(r"Convert (\d+) (\w+) to (\w+)\.", prompt):
        value, src, dst = int(m[1]), m[2], m[3]
        return Fraction(value * _UNITS[(src, dst)]) if (src, dst) in _UNITS else Fraction(value, _UNITS[(dst, src)])
    if m := re.fullmatch(r"\w+ has (\d+) \w+ and gets (\d+) more\. How many \w+ now\?", prompt):
        return Fraction(int(m[1]) + int(m[2]))
    if m := re.fullmatch(r"\w+ has (\d+) \w+ and gives away (\d+)\. How many \w+ are left\?", prompt):
        return Fraction(int(m[1]) - int(m[2]))
    if m := re.fullmatch(r"\w+ buys (\d+) bags of (\d+) \w+\. How many \w+ in total\?", prompt):
        return Fraction(int(m[1]) * int(m[2]))
    raise AssertionError(f"no solver for {prompt!r}")


def _as_answer(expected: Fraction | str, given: str) -> Fraction | str:
    return Fraction(given) if isinstance(expected, Fraction) else given


@pytest.mark.parametrize(("key", "field"), [("golden-v1", "ground_truth"), ("reasoning-traces-v1", "answer"), ("reasoning-traces-v2", "answer")])
def test_every_answer_is_what_the_prompt_asks(key: str, field: str) -> None:
    wrong = []
    for row in _rows(key):
        expected, given = _solve(row.prompt), getattr(row, field)
        if _as_answer(expected, given) != expected or given != given.strip():
            wrong.append((row.id, row.prompt, given))
    assert wrong == []


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _evaluate(expression: str) -> Fraction:
    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return Fraction(str(node.value))
        raise AssertionError(f"unexpected expression {expression!r}")
    return walk(ast.parse(expression, mode="eval").body)


_STEP = re.compile(r"(?P<lhs>[\d+\-*/]+)=(?P<rhs>\d+(?:\.\d+)?)(?: (?:carry \d+|borrow 1))?")


def test_every_compute_step_is_a_true_equation() -> None:
    false = []
    for trace in _rows("reasoning-traces-v1"):
        for step in trace.steps:
            if step.type != "compute":
                continue
            m = _STEP.fullmatch(step.content)
            if m is None or _evaluate(m["lhs"]) != Fraction(m["rhs"]):
                false.append((trace.id, step.content))
    assert false == []


def _rhs(content: str) -> str:
    return _STEP.fullmatch(content)["rhs"]


def _from_columns(trace) -> str:
    """Read the answer off column-wise steps (least significant column first)."""
    values = [int(_rhs(s.content)) for s in trace.steps]
    if trace.category == "subtraction":
        a = re.fullmatch(r"What is (\d+) - \d+\?", trace.prompt)[1]
        copied = a[: len(a) - len(values)]  # a leading column with nothing to subtract is copied down
        return str(int(copied + "".join(str(v) for v in reversed(values))))
    # addition / multiplication: each column keeps its last digit, the last column keeps its total
    return str(values[-1]) + "".join(str(v % 10) for v in reversed(values[:-1]))


def test_the_answer_follows_from_the_steps() -> None:
    inconsistent = []
    for trace in _rows("reasoning-traces-v1"):
        if trace.category in ("addition", "subtraction", "multiplication"):
            derived = _from_columns(trace)
        elif trace.category in ("unit_conversion", "word_problem"):
            derived = _rhs(trace.steps[-1].content)  # the last computation is the answer
        else:
            derived = trace.answer if not trace.steps else "string families carry no steps"
        if derived != trace.answer:
            inconsistent.append((trace.id, [s.content for s in trace.steps], trace.answer))
    assert inconsistent == []
