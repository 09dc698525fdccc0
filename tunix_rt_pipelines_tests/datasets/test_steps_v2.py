"""reasoning-traces-v2's steps: every line true, every chain ending in the answer.

Checked on the committed set (6,000 traces) with parsers written here, independently of
`lib/datasets/steps_v2.py`; unit cases pin the exact text of each step style.
"""

from __future__ import annotations

import random
import re
from functools import cache

import pytest

from tunix_rt_pipelines.lib.datasets import steps_v2
from tunix_rt_pipelines.lib.datasets.families import FAMILIES
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

# "7+8+1=16 carry 1 -> 63", "13-9=4 borrow 1 -> 40", "4*3=12+2=14 -> 147", "380/100=3.8"
_COLUMN = re.compile(r"(?P<lhs>[\d+\-*]+)=(?P<v>\d+)(?:\+(?P<c>\d)=(?P<t>\d+))?(?: (?:carry \d+|borrow 1))? -> (?P<so_far>\d+)")
_PLAIN = re.compile(r"(?P<lhs>[\d+\-*/]+)=(?P<v>\d+(?:\.\d+)?)")


@cache
def _traces() -> tuple:
    data = read_dataset(REAL_DATASETS / "reasoning-traces-v2")
    assert data.all_problems == []
    return tuple(data.rows)


def _eval(lhs: str) -> int:
    assert re.fullmatch(r"\d+(?:[-+*]\d+)*", lhs), lhs
    return eval(lhs)  # noqa: S307 - digits and + - * only (asserted above)


def test_every_column_line_is_true_and_the_last_one_is_the_answer() -> None:
    wrong = []
    for trace in _traces():
        if trace.category not in ("addition", "subtraction", "multiplication", "word_problem"):
            continue
        columns = [m for s in trace.steps if (m := _COLUMN.fullmatch(s.content))]
        for m in columns:
            total = _eval(m["lhs"]) + (int(m["c"]) if m["c"] else 0)
            if _eval(m["lhs"]) != int(m["v"]) or (m["t"] and total != int(m["t"])):
                wrong.append((trace.id, m.string))
        if not columns or str(int(columns[-1]["so_far"])) != trace.answer:
            wrong.append((trace.id, "the last line does not end in the answer"))
    assert wrong == []


def test_every_running_result_grows_by_one_digit_per_column() -> None:
    for trace in _traces():
        if trace.category in ("addition", "subtraction", "multiplication"):
            tails = [_COLUMN.fullmatch(s.content)["so_far"] for s in trace.steps]
            assert all(b.endswith(a) and len(b) > len(a) for a, b in zip(tails, tails[1:])), (trace.id, tails)


def test_unit_conversions_state_the_factor_and_end_in_the_answer() -> None:
    for trace in _traces():
        if trace.category != "unit_conversion":
            continue
        assert trace.steps[0].type == "note" and re.fullmatch(r"1 \w+ = \d+ \w+", trace.steps[0].content), trace.id
        last = trace.steps[-1].content
        m = _COLUMN.fullmatch(last) or _PLAIN.fullmatch(last)
        tail = m["so_far"] if "so_far" in m.groupdict() else m["v"]
        assert tail == trace.answer, (trace.id, last)


def test_string_families_spell_out_their_answer() -> None:
    for trace in _traces():
        if trace.category not in ("reverse", "sort", "count"):
            continue
        lines = [s.content for s in trace.steps]
        word = re.search(r"'([a-z]+)'(?:\.|\?)$", trace.prompt)[1]
        if trace.category == "reverse":
            assert lines == [" ".join(f"{i}{c}" for i, c in enumerate(word, 1)),
                             " ".join(f"{i}{c}" for i, c in reversed(list(enumerate(word, 1)))), " ".join(trace.answer)]
        elif trace.category == "sort":
            assert lines == [" ".join(trace.answer)]
        elif trace.category == "count":
            target = re.search(r"does '([a-z])'", trace.prompt)[1]
            walked = lines[0].split()
            assert [tok[0] for tok in walked] == list(word) and {tok[1] for tok in walked} == {target}
            assert [int(tok[2:]) for tok in walked] == [word[:k].count(target) for k in range(1, len(word) + 1)]
            assert walked[-1][2:] == trace.answer


@pytest.mark.parametrize(("a", "b", "expected"), [
    (38, 82, ["8+2=10 carry 1 -> 0", "3+8+1=12 -> 120"]),
    (6, 88, ["6+8=14 carry 1 -> 4", "8+1=9 -> 94"]),
])
def test_addition_text(a: int, b: int, expected: list[str]) -> None:
    assert steps_v2.add(a, b) == expected


def test_subtraction_keeps_leading_zeros_in_the_running_result() -> None:
    assert steps_v2.subtract(234, 194) == ["4-4=0 -> 0", "13-9=4 borrow 1 -> 40", "2-1-1=0 -> 040"]


def test_multiplication_writes_the_product_before_the_carry() -> None:
    assert steps_v2.multiply(49, 3) == ["9*3=27 carry 2 -> 7", "4*3=12+2=14 -> 147"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_has_v2_steps_that_are_deterministic(family: str) -> None:
    task = FAMILIES[family](random.Random(1), "hard")
    assert steps_v2.steps(family, task) == steps_v2.steps(family, FAMILIES[family](random.Random(1), "hard"))
    assert steps_v2.steps(family, task)


def test_an_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="no v2 steps for family 'poetry'"):
        steps_v2.steps("poetry", FAMILIES["sort"](random.Random(0), "easy"))
