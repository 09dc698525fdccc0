"""Results contract: the best trial follows the spec's `best` order (score, lower CI bound, n,
earlier trial); failed and unfinished trials are never ranked or given a score; the sweep fails
past max_failures or with no success; the results files are written."""

import csv
import json

import pytest

from tunix_rt_pipelines.lib.sweep.results import (
    FAILED,
    SUCCEEDED,
    UNFINISHED,
    TrialRecord,
    best_trial,
    failure_message,
    rank,
    results_payload,
    table_rows,
    write_results,
)


def ok(index, score, ci=(0.1, 0.9), n=100):
    return TrialRecord(trial_id=f"abc_{index:05d}", index=index, status=SUCCEEDED, params={"learning_rate": 0.001 * (index + 1)},
                       score=score, ci95=ci, n=n, final_loss=1.0, duration_s=3.0, attempts=1, checkpoint_path=f"/ckpt/{index}",
                       model_sha256=f"sha{index}")


def failed(index, error="ValueError: boom"):
    return TrialRecord(trial_id=f"abc_{index:05d}", index=index, status=FAILED, params={"learning_rate": 1.0}, attempts=1, error=error)


@pytest.mark.parametrize(
    ("records", "best_index"),
    [
        ([ok(0, 0.2), ok(1, 0.5), ok(2, 0.4)], 1),                                  # higher score wins
        ([ok(0, 0.5, ci=(0.30, 0.7)), ok(1, 0.5, ci=(0.35, 0.65))], 1),             # tie on score: higher lower CI bound
        ([ok(0, 0.5, n=50), ok(1, 0.5, n=100)], 1),                                 # then more items
        ([ok(2, 0.5), ok(0, 0.5), ok(1, 0.5)], 0),                                  # then the earlier trial
        ([failed(0), ok(1, 0.0), failed(2)], 1),                                    # a failed trial is never best, even over 0.0
    ],
)
def test_best_follows_the_spec_order(records, best_index):
    assert best_trial(records).index == best_index


def test_failed_and_unfinished_trials_are_not_ranked():
    unfinished = TrialRecord(trial_id="abc_00003", index=3, status=UNFINISHED, params={})
    assert [r.index for r in rank([failed(0), ok(1, 0.3), ok(2, 0.6), unfinished])] == [2, 1]
    assert best_trial([failed(0), unfinished]) is None


def test_failed_trial_keeps_its_error_and_no_score():
    row = table_rows([failed(0, "RuntimeError: CUDA out of memory")])[0]
    assert row["status"] == FAILED and row["error"] == "RuntimeError: CUDA out of memory"
    assert row["answer_correctness"] is None and row["ci95_low"] is None


@pytest.mark.parametrize(
    ("records", "max_failures", "expected"),
    [
        ([ok(0, 0.5), failed(1)], 1, None),                                          # within the budget
        ([ok(0, 0.5), failed(1), failed(2)], 1, "2 of 3 trials failed, more than max_failures=1"),
        ([ok(0, 0.5), failed(1)], 0, "1 of 2 trials failed, more than max_failures=0"),
        ([failed(0), failed(1)], 5, "no trial succeeded (2 trials)"),                # all failed, budget or not
    ],
)
def test_failure_message(records, max_failures, expected):
    message = failure_message(records, max_failures)
    if expected is None:
        assert message is None
    else:
        assert expected in message
        assert "trial abc_00001 {\"learning_rate\": 1.0}: ValueError: boom" in message


def test_results_files(tmp_path):
    records = [ok(0, 0.25, ci=(0.18, 0.34)), failed(1), ok(2, 0.5, ci=(0.4, 0.6))]
    best = best_trial(records)
    path = write_results(tmp_path, results_payload(records, best, sweep_id="s1", forced=False), records)
    payload = json.loads(path.read_text())
    assert payload["best"]["trial_id"] == "abc_00002" and payload["best"]["ci95"] == [0.4, 0.6]
    assert payload["counts"] == {SUCCEEDED: 2, FAILED: 1, UNFINISHED: 0}
    assert [t["score"] for t in payload["trials"]] == [0.25, None, 0.5]
    assert payload["metric"] == "answer_correctness" and payload["sweep_id"] == "s1"
    rows = list(csv.DictReader((tmp_path / "trials.csv").open()))
    assert [r["status"] for r in rows] == [SUCCEEDED, FAILED, SUCCEEDED] and rows[1]["answer_correctness"] == ""
    png = (tmp_path / "metric_by_trial.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) < 60_000  # small enough for UI metadata
