"""Sweep folder contract: the id is stable for the same inputs and settings, a folder refuses a
different sweep, and Ray's results become records with the right status (a failed trial keeps
its original error and gets no score; a trial with no result is unfinished)."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tunix_rt_pipelines.lib.sweep.results import FAILED, SUCCEEDED, UNFINISHED
from tunix_rt_pipelines.lib.sweep.trainable import record_attempt
from tunix_rt_pipelines.lib.sweep.tuner import SweepConflict, claim_sweep_dir, sweep_key, trial_record


@dataclass
class FakeCheckpoint:
    path: str


@dataclass
class FakeResult:
    """The attributes of `ray.tune.Result` that `trial_record` reads."""

    path: str
    config: dict | None
    metrics: dict[str, Any]
    error: BaseException | None = None
    checkpoint: FakeCheckpoint | None = None


class WrappedError(Exception):
    """Like RayTaskError: the whole remote traceback as text, the original exception as `.cause`."""

    def __init__(self, cause: BaseException):
        super().__init__(f"ray::run_trial()\nTraceback (most recent call last):\n  ...\n{type(cause).__name__}: {cause}")
        self.cause = cause


def test_sweep_key_is_stable_and_sensitive():
    identity = {"base_sha256": "a" * 64, "config": {"seed": 0, "search_space": {"x": 1}}}
    assert sweep_key(identity) == sweep_key(json.loads(json.dumps(identity)))
    assert len(sweep_key(identity)) == 16
    assert sweep_key(identity) != sweep_key({**identity, "base_sha256": "b" * 64})


def test_a_folder_holds_one_sweep(tmp_path):
    claim_sweep_dir(tmp_path, {"seed": 0, "golden": "g1"})
    claim_sweep_dir(tmp_path, {"golden": "g1", "seed": 0})  # same sweep: fine
    with pytest.raises(SweepConflict, match=r"already holds a different sweep \(differs in: seed\)"):
        claim_sweep_dir(tmp_path, {"seed": 1, "golden": "g1"})


def test_succeeded_result(tmp_path):
    trial_dir = tmp_path / "experiment" / "trial_ab12c_00003"
    record_attempt(tmp_path / "trials" / "ab12c_00003")
    metrics = {"answer_correctness": 0.42, "ci95_low": 0.33, "ci95_high": 0.52, "n": 100, "final_loss": 0.7,
               "time_total_s": 12.5, "model_sha256": "f" * 64, "evaluation_path": "/e.json"}
    record = trial_record(FakeResult(str(trial_dir), {"learning_rate": 0.003}, metrics, checkpoint=FakeCheckpoint("/ck")),
                          tmp_path / "trials", "answer_correctness")
    assert (record.status, record.index, record.trial_id, record.score, record.ci95) == (SUCCEEDED, 3, "ab12c_00003", 0.42, (0.33, 0.52))
    assert (record.attempts, record.checkpoint_path, record.duration_s) == (1, "/ck", 12.5)


def test_failed_result_keeps_the_original_error_and_has_no_score(tmp_path):
    trial_dir = tmp_path / "experiment" / "trial_ab12c_00001"
    trial_dir.mkdir(parents=True)
    # After Tuner.restore a failed trial comes back without its config: params.json has it.
    (trial_dir / "params.json").write_text(json.dumps({"max_seq_length": 8}))
    error = WrappedError(ValueError("no training examples: 32 traces, 32 longer than max_seq_length=8"))
    record = trial_record(FakeResult(str(trial_dir), None, {"trial_id": "ab12c_00001"}, error=error), tmp_path / "trials", "answer_correctness")
    assert record.status == FAILED and record.score is None and record.ci95 is None
    assert record.params == {"max_seq_length": 8}
    assert record.error == "ValueError: no training examples: 32 traces, 32 longer than max_seq_length=8"


def test_error_without_cause_uses_its_last_line(tmp_path):
    record = trial_record(FakeResult(str(tmp_path / "trial_x_00000"), {}, {}, error=RuntimeError("context\n\nTuneError: worker died")),
                          tmp_path, "answer_correctness")
    assert record.error == "TuneError: worker died"


def test_result_without_the_metric_is_unfinished(tmp_path):
    record = trial_record(FakeResult(str(Path(tmp_path) / "trial_x_00002"), {"seed": 1}, {}), tmp_path, "answer_correctness")
    assert record.status == UNFINISHED and record.score is None
