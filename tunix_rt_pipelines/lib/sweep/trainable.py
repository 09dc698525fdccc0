"""One sweep trial: the graph's own train -> predict -> evaluate on golden-v1, reported to Ray Tune.

With `training.num_workers > 1` the training step is a Ray Train run launched from the trial
(`ray_train.train_data_parallel`, Ray's documented Train-v2-inside-Tune pattern); the trial itself
is its driver and then predicts and evaluates as a one-worker trial does. How many such trials
may run at once is decided before the sweep starts (`trial_resources.py`).

`evaluate_trial` is the whole trial as a plain function (tests call it without Ray);
`run_trial` is the Ray Tune function trainable around it. A trial that raises is left to
raise: Ray records it as failed with its error, and nothing ever turns a failure into a score.

Layout of one trial's folder, `<sweep>/trials/<trial id>/`:

    attempts.jsonl     one line per start of this trial (a resumed sweep must not add lines to finished trials)
    training/          `train()`'s folder: resumable checkpoints while it runs, then the model
                       (`train_data_parallel`'s for a multi-worker trial: the same layout)
    predictions/       predictions.jsonl, predictions_meta.json
    evaluation/        evaluation.json (per-item results)

The trained model is reported as the trial's Ray checkpoint (Ray copies it to
`<sweep>/<experiment>/trial_<id>/checkpoint_000000/`) and the working copy is then removed.

Runs inside Ray workers, so nothing here imports dagster (a worker would pay ~3 s for it).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.datasets.refs import DatasetRef, load_rows
from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
from tunix_rt_pipelines.lib.sweep.search_space import coerce_params
from tunix_rt_pipelines.lib.training.settings import TrainSettings

ATTEMPTS_FILE = "attempts.jsonl"


@dataclass(frozen=True)
class TrialInputs:
    """What every trial of a sweep shares (sent once to the workers with `tune.with_parameters`)."""

    base_dir: Path  # the base checkpoint folder
    traces: DatasetRef
    traces_dir: Path  # the traces' dataset folder
    golden: DatasetRef
    golden_dir: Path
    spec_sha256: str  # the locked evaluator's hash, recorded with every evaluation
    training: TrainSettings  # the base every trial's params override
    inference: GenerationSettings
    work_root: Path  # <sweep>/trials
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    int_keys: frozenset[str] = field(default_factory=frozenset)  # training fields holding integers
    builtin_base: bool = False  # a built-in (random-weight) base: `lora.enabled: auto` means off


@dataclass(frozen=True)
class TrialOutcome:
    metrics: dict[str, Any]
    model_dir: Path


def trial_device(gpus_per_trial: float) -> str:
    """The device a trial trains and predicts on: the card Ray reserved for it, else the CPU (never "auto")."""
    return "cuda" if gpus_per_trial > 0 else "cpu"


def trial_settings(inputs: TrialInputs, params: dict[str, Any]) -> tuple[TrainSettings, GenerationSettings]:
    """Training and inference settings of one trial: the base, the sampled params, and the trial's hardware.

    The device follows the Ray reservation, never "auto": a CPU trial on a GPU host must not
    take the card, and a GPU trial sees only the card Ray gave it (CUDA_VISIBLE_DEVICES).
    """
    device = trial_device(inputs.gpus_per_trial)
    threads = max(1, math.ceil(inputs.cpus_per_trial))
    if inputs.training.num_workers > 1:  # the Ray Train workers train, each on its own reserved CPUs (ray_train.py)
        threads = inputs.training.cpus_per_worker
    # Validated again, so a sampled value outside a field's constraints fails the trial loudly. The
    # hardware is set after validation: it is Ray's reservation, not a user's value, and the machine
    # that checks it (the driver) need not be the one with the card.
    training = TrainSettings.model_validate({**inputs.training.model_dump(), **coerce_params(params, inputs.int_keys),
                                             "num_threads": threads}).model_copy(update={"device": device})
    return training, inputs.inference.model_copy(update={"device": device})


def record_attempt(work: Path) -> int:
    """Append a start record to the trial's attempts log; returns how many starts it now holds."""
    work.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "pid": os.getpid(), "host": socket.gethostname()})
    with (work / ATTEMPTS_FILE).open("a") as fh:
        fh.write(line + "\n")
    return count_attempts(work)


def count_attempts(work: Path) -> int:
    path = work / ATTEMPTS_FILE
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def evaluate_trial(params: dict[str, Any], inputs: TrialInputs, work: Path) -> TrialOutcome:
    """Train with `params`, predict golden-v1 with the result and score it with the locked metric.

    Args:
        params: Sampled hyperparameters (names of `TrainSettings` fields).
        inputs: The sweep's shared inputs.
        work: This trial's folder (the same trial always gets the same folder, so an
            interrupted trial resumes its training from its last checkpoint).

    Returns:
        The metrics to report and the trained model folder.
    """
    from tunix_rt_pipelines.lib.evaluation.evaluate import evaluate_predictions
    from tunix_rt_pipelines.lib.inference.predict import predict
    from tunix_rt_pipelines.lib.models.loading import describe_folder
    from tunix_rt_pipelines.lib.training.ray_train import train_data_parallel
    from tunix_rt_pipelines.lib.training.train import train

    start = time.perf_counter()
    training, inference = trial_settings(inputs, params)
    traces = load_rows(inputs.traces_dir, inputs.traces)
    train_started = time.time()
    if training.num_workers > 1:  # a Ray Train run inside this trial, on workers of its own (trial_resources.py)
        require_train_v2()
        result = train_data_parallel(inputs.base_dir, traces, training, work / "training", builtin_base=inputs.builtin_base)
    else:
        result = train(inputs.base_dir, traces, training, work / "training", builtin_base=inputs.builtin_base)
    train_ended = time.time()
    model = describe_folder("sweep-trial", result.model_dir)
    items = load_rows(inputs.golden_dir, inputs.golden)
    predictions = predict(result.model_dir, model.sha256, items, inputs.golden.sha256, inference, work / "predictions")
    evaluation = evaluate_predictions(predictions.path, items, inputs.golden, inputs.spec_sha256, work / "evaluation")
    metrics = {
        "answer_correctness": evaluation.score,
        "ci95_low": evaluation.ci95[0],
        "ci95_high": evaluation.ci95[1],
        "n": evaluation.n,
        "correct": evaluation.correct,
        "final_loss": result.final_loss,
        "train_steps": result.steps,
        "train_seconds": result.wall_seconds,
        # when this trial's training ran (wall clock, Unix seconds, Ray Train's start-up included) and on how many workers
        "train_started_at": train_started,
        "train_ended_at": train_ended,
        "train_workers": training.num_workers,
        "model_sha256": model.sha256,
        "evaluator": evaluation.evaluator,
        "evaluation_path": str(evaluation.path),
        "trial_seconds": time.perf_counter() - start,
    }
    return TrialOutcome(metrics=metrics, model_dir=result.model_dir)


def require_train_v2() -> None:
    """Refuse a multi-worker trial when this process runs Ray Train v1 (`RAY_TRAIN_V2_ENABLED=0`).

    Ray 2.60 defaults to v2, where a trainer launched from a Tune trial is a Train run of its own
    with its own placement group (what trial_resources.py reserves for). v1's trainer inside a Tune
    trial is the deprecated `Tuner(trainer)` design, with other reservations; it is not supported here.
    """
    from ray.train.v2._internal.constants import V2_ENABLED_ENV_VAR, is_v2_enabled  # Ray's own switch, read as Ray reads it

    if not is_v2_enabled():
        raise RuntimeError(f"{V2_ENABLED_ENV_VAR}={os.environ.get(V2_ENABLED_ENV_VAR)!r} turns Ray Train v2 off in this trial's "
                           f"process, and multi-worker sweep trials need it: unset {V2_ENABLED_ENV_VAR} (v2 is Ray 2.60's default)")


def run_trial(params: dict[str, Any], inputs: TrialInputs) -> None:
    """Ray Tune function trainable: one report, with the trained model as the checkpoint."""
    from ray import tune

    work = Path(inputs.work_root) / tune.get_context().get_trial_id()
    attempts = record_attempt(work)
    outcome = evaluate_trial(params, inputs, work)
    # report() copies the folder into the trial's checkpoint under the sweep folder before returning.
    tune.report({**outcome.metrics, "attempts": attempts}, checkpoint=tune.Checkpoint.from_directory(str(outcome.model_dir)))
    shutil.rmtree(outcome.model_dir, ignore_errors=True)
