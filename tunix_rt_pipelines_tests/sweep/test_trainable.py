"""Trial contract: a trial trains, predicts and scores with the graph's own functions; its
hardware follows the Ray reservation (never "auto"); a trial that cannot train raises instead
of reporting a score; the trial code never imports dagster (it runs in Ray workers)."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.models.loading import folder_sha256
from tunix_rt_pipelines.lib.sweep.trainable import count_attempts, evaluate_trial, record_attempt, require_train_v2, trial_settings


@pytest.mark.parametrize(
    ("cpus", "gpus", "device", "threads"),
    [
        (1.0, 0.0, "cpu", 1),     # CPU trial on any host: never grabs a card via "auto"
        (1.5, 0.0, "cpu", 2),     # fractional CPUs round up to whole threads
        (2.0, 1.0, "cuda", 2),    # GPU trial: the card Ray assigned (CUDA_VISIBLE_DEVICES)
        (1.0, 0.5, "cuda", 1),    # a shared card, on purpose
    ],
)
def test_trial_hardware_follows_the_reservation(trial_inputs, cpus, gpus, device, threads):
    inputs = dataclasses.replace(trial_inputs, cpus_per_trial=cpus, gpus_per_trial=gpus)
    training, inference = trial_settings(inputs, {"learning_rate": 0.01, "max_steps": 7.0})
    assert (training.device, inference.device, training.num_threads) == (device, device, threads)
    assert training.learning_rate == 0.01 and training.max_steps == 7 and isinstance(training.max_steps, int)
    assert training.batch_size == 8  # from the base config, not searched
    assert training.model_dump()["learning_rate"] == 0.01


def test_a_multi_worker_trial_threads_follow_its_workers(trial_inputs):
    # the Ray Train workers train, each with its own reserved CPUs: that is the thread count recorded
    inputs = dataclasses.replace(trial_inputs, cpus_per_trial=1.0,
                                 training=trial_inputs.training.model_copy(update={"num_workers": 2, "cpus_per_worker": 3}))
    training, inference = trial_settings(inputs, {"learning_rate": 0.01})
    assert (training.num_workers, training.cpus_per_worker, training.num_threads) == (2, 3, 3)
    assert (training.device, inference.device) == ("cpu", "cpu")


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        (None, False),     # unset: Ray 2.60's default is v2
        ("1", False),
        ("0", True),       # v1: the deprecated Tuner(trainer) design, refused before any worker starts
        ("false", True),   # Ray's own parser: false means off
    ],
)
def test_multi_worker_trials_need_ray_train_v2(monkeypatch, value, refused):
    if value is None:
        monkeypatch.delenv("RAY_TRAIN_V2_ENABLED", raising=False)
    else:
        monkeypatch.setenv("RAY_TRAIN_V2_ENABLED", value)
    if refused:
        with pytest.raises(RuntimeError, match=f"RAY_TRAIN_V2_ENABLED='{value}' turns Ray Train v2 off .* unset RAY_TRAIN_V2_ENABLED"):
            require_train_v2()
    else:
        require_train_v2()


def test_attempts_are_counted(tmp_path):
    assert count_attempts(tmp_path / "t") == 0
    assert record_attempt(tmp_path / "t") == 1
    assert record_attempt(tmp_path / "t") == 2


def test_trial_code_never_imports_dagster():
    code = ("import sys; import tunix_rt_pipelines.lib.sweep.tuner, tunix_rt_pipelines.lib.sweep.trainable; "
            "import tunix_rt_pipelines.lib.training.train, tunix_rt_pipelines.lib.inference.predict, "
            "tunix_rt_pipelines.lib.evaluation.evaluate; "
            "bad = [m for m in ('dagster', 'torch', 'ray') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_a_trial_trains_predicts_and_scores(trial_inputs, tmp_path):
    outcome = evaluate_trial({"learning_rate": 0.005}, trial_inputs, tmp_path / "trials" / "t0")
    m = outcome.metrics
    assert 0.0 <= m["ci95_low"] <= m["answer_correctness"] <= m["ci95_high"] <= 1.0
    assert m["n"] == 100 and m["train_steps"] == 3 and m["evaluator"] == "answer_correctness@v1"
    assert m["model_sha256"] == folder_sha256(outcome.model_dir)
    assert Path(m["evaluation_path"]).is_file()
    assert (outcome.model_dir / "training_config.json").read_text().count('"learning_rate": 0.005') == 1


@pytest.mark.slow
def test_a_trial_that_cannot_train_raises_instead_of_scoring(trial_inputs, tmp_path):
    with pytest.raises(ValueError, match="no training examples"):
        evaluate_trial({"max_seq_length": 32}, trial_inputs, tmp_path / "trials" / "t1")
    assert not (tmp_path / "trials" / "t1" / "predictions").exists()
