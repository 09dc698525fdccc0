"""answer_correctness@v1, item by item and in aggregate.

Contract (issue 2, §3): extraction takes the text after the LAST `Answer:` (any case) up to the
end of that line, else the last non-empty line; normalisation (NFKC, case-fold, trim, collapse
whitespace, strip surrounding quotes/backticks and trailing `.!?;`) applies to prediction and
ground truth alike; two plain numbers (after a leading `$` and `,` thousands separators) are
compared as decimals, anything else as exact strings. A missing prediction scores 0 (`missing`),
an empty extraction 0 (`empty`). The aggregate is the mean over ALL dataset items, with `n`, a
Wilson 95% interval and per-category / per-difficulty means.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tunix_rt_pipelines.lib.datasets.contract import EvalItem
from tunix_rt_pipelines.lib.evaluation.metrics import (
    as_number,
    extract_answer,
    normalize,
    score_dataset,
    score_item,
)
from tunix_rt_pipelines.lib.evaluation.spec import METRIC_NAME, METRIC_VERSION
from tunix_rt_pipelines.lib.evaluation.stats import wilson_interval

# (prediction, ground truth, expected extracted+normalised, expected correct, expected reason)
CASES = [
    # --- the marker: any case, last occurrence, up to the end of that line
    ("Answer: 42", "42", "42", True, "numeric"),                       # the plain form
    ("answer: 42", "42", "42", True, "numeric"),                       # lower-case marker
    ("ANSWER: 42", "42", "42", True, "numeric"),                       # upper-case marker
    ("AnSwEr:42", "42", "42", True, "numeric"),                        # mixed case, no space after the colon
    ("Answer: 1\nAnswer: 2", "2", "2", True, "numeric"),               # the LAST marker wins...
    ("Answer: 2\nanswer: 1", "2", "1", False, "mismatch"),             # ...even when the earlier one was right
    ("answer:answer: 9", "9", "9", True, "numeric"),                   # back-to-back markers: the last one
    ("Answer: 7\nmore text", "7", "7", True, "numeric"),               # only up to the end of that line
    ("Answer: 7\r\nthanks", "7", "7", True, "numeric"),                # CRLF ends the line too
    ("The answer: 12 apples\n", "12 apples", "12 apples", True, "exact"),  # marker inside a sentence
    ("Answer: 3\nAnswer 4", "3", "3", True, "numeric"),                # "Answer 4" has no colon: not a marker
    ("reasoning\nAnswer:\n42", "42", "", False, "empty"),              # the next line does not count
    # --- no marker: the last non-empty line
    ("steps\n\n  13  \n\n", "13", "13", True, "numeric"),              # blank and whitespace-only lines skipped
    ("first\nsecond", "second", "second", True, "exact"),              # the last line, not the first
    ("Answer 42", "answer 42", "answer 42", True, "exact"),            # no colon: the whole line is the answer
    # --- Unicode NFKC and case-folding
    ("ｆｕｌｌ　ｗｉｄｔｈ", "full width", "full width", True, "exact"),  # full-width letters and space
    ("４２", "42", "42", True, "numeric"),                              # full-width digits become a number
    ("ﬁsh", "fish", "fish", True, "exact"),                            # the "fi" ligature
    ("STRASSE", "straße", "strasse", True, "exact"),                   # case-fold, not lower(): ß -> ss
    ("Paris", "PARIS", "paris", True, "exact"),                        # ground truth is folded too
    ("A\u00a0B", "a b", "a b", True, "exact"),                         # NBSP -> space under NFKC
    # --- trimming and whitespace
    ("Answer:    olleh   ", "olleh", "olleh", True, "exact"),          # trimmed both ends
    ("a   b\tc", "a b c", "a b c", True, "exact"),                     # runs of spaces/tabs -> one space
    ("Answer: 'a b'", "A  B", "a b", True, "exact"),                   # ground truth collapsed and folded too
    # --- surrounding quotes/backticks, trailing . ! ? ;
    ("'olleh'", "olleh", "olleh", True, "exact"),                      # single quotes
    ('"abc"', "abc", "abc", True, "exact"),                            # double quotes
    ("`abc`", "abc", "abc", True, "exact"),                            # backticks
    ("`abc`.", "abc", "abc", True, "exact"),                           # backticks, then a trailing period
    ('"Yes!"', "yes", "yes", True, "exact"),                           # quotes, then "!" inside them
    ("'\"x\"'", "x", "x", True, "exact"),                              # nested pairs, stripped until stable
    ("Paris;", "paris", "paris", True, "exact"),                       # trailing ";"
    ("Really?", "really", "really", True, "exact"),                    # trailing "?"
    ("done...", "done", "done", True, "exact"),                        # every trailing "." goes
    ("x .", "x", "x", True, "exact"),                                  # the space left behind is trimmed
    ("'abc", "abc", "'abc", False, "mismatch"),                        # an unmatched quote stays
    ("\"abc'", "abc", "\"abc'", False, "mismatch"),                    # a mismatched pair stays
    ("Answer: 5", " 5. ", "5", True, "numeric"),                       # the ground truth is normalised too
    # --- numbers compared as decimals
    ("42.0", "42", "42.0", True, "numeric"),                           # 42.0 = 42
    ("1,000", "1000", "1,000", True, "numeric"),                       # thousands separator
    ("$31.50", "$31.5", "$31.50", True, "numeric"),                    # leading dollar, trailing zero
    ("$1,234.50", "1234.5", "$1,234.50", True, "numeric"),             # dollar + separator + decimals
    ("0.50", ".5", "0.50", True, "numeric"),                           # no integer part is still a number
    ("007", "7", "007", True, "numeric"),                              # leading zeros do not matter
    ("-5", "-5.00", "-5", True, "numeric"),                            # negatives
    ("-5", "5", "-5", False, "mismatch"),                              # ...and the sign matters
    ("-$5", "-5", "-$5", True, "numeric"),                             # sign before the dollar
    ("+7", "7", "+7", True, "numeric"),                                # explicit plus sign
    ("Answer: -0", "0", "-0", True, "numeric"),                        # -0 = 0 as decimals
    # --- not numbers: compared as strings
    ("1,00", "100", "1,00", False, "mismatch"),                        # invalid thousands grouping
    ("12,34,567", "1234567", "12,34,567", False, "mismatch"),          # Indian-style grouping is not accepted
    ("1000,000", "1000000", "1000,000", False, "mismatch"),            # 4 digits before a separator
    ("1 000", "1000", "1 000", False, "mismatch"),                     # a space is not a thousands separator
    ("1e3", "1000", "1e3", False, "mismatch"),                         # exponents are not numbers
    ("1_000", "1000", "1_000", False, "mismatch"),                     # Python's "_" separator is not either
    ("42", "forty-two", "42", False, "mismatch"),                      # numeric on the prediction side only
    ("42 apples", "42", "42 apples", False, "mismatch"),               # numeric on the ground-truth side only
    ("Answer: 10%", "10", "10%", False, "mismatch"),                   # a unit makes it a string
    ("Answer: $", "$", "$", True, "exact"),                            # a lone "$" is text, equal to itself
    ("abc", "abd", "abc", False, "mismatch"),                          # plain wrong answer
    # --- failures
    (None, "x", None, False, "missing"),                               # no prediction at all
    ("", "x", "", False, "empty"),                                     # an empty prediction
    ("   \n\t\n", "x", "", False, "empty"),                            # whitespace only
    ("Answer:", "x", "", False, "empty"),                              # a marker with nothing after it
    ("Answer: ...", "x", "", False, "empty"),                          # only trailing punctuation
    ("Answer: ''", "x", "", False, "empty"),                           # only a pair of quotes
]


@pytest.mark.parametrize(("prediction", "truth", "extracted", "correct", "reason"), CASES)
def test_score_item(prediction: str | None, truth: str, extracted: str | None, correct: bool, reason: str) -> None:
    result = score_item("item-1", truth, prediction)
    assert (result.extracted, result.correct, result.reason) == (extracted, correct, reason)
    assert result.id == "item-1"
    assert result.expected == truth  # the report shows the ground truth as written


def test_the_table_is_large_and_covers_every_reason() -> None:
    assert len(CASES) >= 40
    assert {reason for *_, reason in CASES} == {"exact", "numeric", "mismatch", "missing", "empty"}


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ("Answer: 7\nmore", " 7"),               # raw text after the marker, not yet normalised
        ("x: 1\nANSWER:  y ", "  y "),           # any case; whitespace kept until normalisation
        ("a\nb\n\n \n", "b"),                    # fallback: the last non-empty line
        ("", ""),                                # nothing at all
        (" \n\t\n", ""),                         # only whitespace lines
        ("Answer:", ""),                         # marker at the very end
    ],
)
def test_extract_answer(prediction: str, expected: str) -> None:
    assert extract_answer(prediction) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('  "Yes!"  ', "yes"),                   # trim, quotes, trailing "!", case
        ("x;!?.", "x"),                          # every trailing punctuation mark
        ("`'a'`", "a"),                          # nested quote kinds
        ("a \n b", "a b"),                       # a newline is whitespace too
        ("Ⅻ", "xii"),                            # NFKC compatibility form, then case-fold
        ("'", "'"),                              # a single quote is not a surrounding pair
        ("?!", ""),                              # punctuation only -> empty
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", Decimal("42")),                   # integer
        ("1,000", Decimal("1000")),              # valid grouping
        ("12,345,678.90", Decimal("12345678.90")),  # several groups and decimals
        ("$31.50", Decimal("31.5")),             # leading dollar dropped
        ("-$5", Decimal("-5")),                  # sign before the dollar
        ("$-5", Decimal("-5")),                  # sign after the dollar
        (".5", Decimal("0.5")),                  # no integer part
        ("1,00", None),                          # bad grouping
        ("1e3", None),                           # exponent
        ("1_000", None),                         # underscore separator (Decimal would accept it)
        ("nan", None),                           # Decimal would accept these three; the rule does not
        ("inf", None),
        ("Infinity", None),
        ("", None),                              # empty
        ("-", None),                             # a sign alone
        ("$", None),                             # a dollar alone
        (".", None),                             # a point alone
        ("--5", None),                           # two signs
        ("$$5", None),                           # two dollars
        ("1.2.3", None),                         # two points
    ],
)
def test_as_number(text: str, expected: Decimal | None) -> None:
    assert as_number(text) == expected


def _item(item_id: str, truth: str, category: str, difficulty: str) -> EvalItem:
    return EvalItem(id=item_id, prompt=f"question {item_id}", ground_truth=truth, category=category, difficulty=difficulty)


ITEMS = [
    _item("a1", "4", "addition", "easy"),
    _item("a2", "10", "addition", "hard"),
    _item("r1", "cba", "reverse", "easy"),
    _item("r2", "olleh", "reverse", "easy"),
    _item("r3", "dlrow", "reverse", "hard"),
]


def test_score_dataset_aggregates_over_every_item() -> None:
    predictions = {
        "a1": "2 + 2\nAnswer: 4",        # right (numeric)
        "a2": "Answer: 11",              # wrong
        "r1": "'CBA'",                   # right (exact, after normalisation)
        "r2": "Answer:",                 # empty
        # r3 missing: still counted, as 0
        "zz": "Answer: 4",               # not in the dataset: ignored here (the CLI reports it)
    }
    report = score_dataset(ITEMS, predictions)

    assert (report.metric, report.version) == (METRIC_NAME, METRIC_VERSION)
    assert (report.n, report.correct, report.score) == (5, 2, pytest.approx(2 / 5))
    assert report.ci95 == pytest.approx(wilson_interval(2, 5))
    assert [(r.id, r.correct, r.reason) for r in report.items] == [
        ("a1", True, "numeric"), ("a2", False, "mismatch"), ("r1", True, "exact"),
        ("r2", False, "empty"), ("r3", False, "missing"),
    ]
    assert report.by_category == {
        "addition": {"score": 0.5, "correct": 1, "n": 2, "ci95": list(wilson_interval(1, 2))},
        "reverse": {"score": pytest.approx(1 / 3), "correct": 1, "n": 3, "ci95": list(wilson_interval(1, 3))},
    }
    assert report.by_difficulty == {
        "easy": {"score": pytest.approx(2 / 3), "correct": 2, "n": 3, "ci95": list(wilson_interval(2, 3))},
        "hard": {"score": 0.0, "correct": 0, "n": 2, "ci95": list(wilson_interval(0, 2))},
    }


def test_score_dataset_with_no_predictions_scores_zero_not_nan() -> None:
    report = score_dataset(ITEMS, {})
    assert (report.score, report.n, report.correct) == (0.0, 5, 0)
    assert {r.reason for r in report.items} == {"missing"}
    assert report.ci95 == pytest.approx((0.0, 0.4345), abs=5e-5)  # Wilson 0/5: upper = z²/(5+z²)


def test_score_dataset_on_no_items_is_the_uninformative_interval() -> None:
    report = score_dataset([], {"x": "Answer: 1"})
    assert (report.score, report.n, report.ci95, report.items) == (0.0, 0, (0.0, 1.0), [])


def test_report_to_dict_is_json_ready() -> None:
    out = score_dataset(ITEMS[:1], {"a1": "4"}).to_dict()
    assert out["ci95"] == list(wilson_interval(1, 1))  # a list, as `score --json` prints it
    assert out["items"] == [{"id": "a1", "expected": "4", "extracted": "4", "correct": True, "reason": "numeric"}]
