"""The main job trains with 2 Ray Train CPU workers end to end and resumes after a crash (issue 11 §1, slow).

`tunix-rt run --smoke` with `num_workers: 2` is killed with SIGKILL once the workers have saved a
checkpoint: its process group (CLI, code server, run process) and every process that inherited its
TUNIX_RT_HOME (the step's local Ray and its two workers, which Ray starts in sessions of their own),
as a crashed machine would lose them all; the same command run again resumes from that checkpoint
and the run succeeds with a trained model and its scores.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tunix_rt_pipelines_tests.testing_utils import default_signals, require_ray

pytestmark = [pytest.mark.slow, require_ray]

STEPS = 60  # ~40 s on 2 workers: long enough to be killed between two checkpoints
CONFIG = {"ops": {"trained_checkpoint": {"config": {"num_workers": 2, "max_steps": STEPS, "save_steps": 10, "logging_steps": 10}}}}


def _checkpoints(home: Path) -> list[Path]:
    return [p for p in home.glob("**/training/*/checkpoints/checkpoint-*") if (p / "trainer_state.json").exists()]


def _kill_everything_of(pid: int, home: Path) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("TUNIX_RT_HOME") == str(home):
                proc.kill()


def test_the_main_job_trains_on_two_ray_train_workers_and_resumes_after_a_kill(tmp_path: Path):
    (tmp_path / "run.yaml").write_text(json.dumps(CONFIG))
    env = {**os.environ, "TUNIX_RT_HOME": str(tmp_path / "home")}
    env.pop("DAGSTER_HOME", None)
    command = [sys.executable, "-m", "tunix_rt_pipelines.cli.main", "run", "--smoke", "--config", "run.yaml"]
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=default_signals)
    try:
        deadline = time.monotonic() + 600
        while not _checkpoints(tmp_path / "home") and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _checkpoints(tmp_path / "home") and first.poll() is None, "the first run ended or saved no checkpoint in time"
    finally:
        _kill_everything_of(first.pid, tmp_path / "home")
        first.wait(30)
    (work,) = {p.parent.parent for p in _checkpoints(tmp_path / "home")}
    time.sleep(5)  # anything that survived the kill would go on training (and delete the checkpoints when done)
    assert _checkpoints(tmp_path / "home") and not (work / "model").exists()

    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    out = second.stdout + second.stderr
    assert second.returncode == 0, out[-4000:]
    assert "training with 2 Ray Train workers" in out
    stats = json.loads((work / "stats.json").read_text())
    assert stats["num_workers"] == 2 and 0 < stats["resumed_from_step"] < STEPS, stats
    assert f"resumed from the checkpoint at step {stats['resumed_from_step']}" in out
    config = json.loads((work / "model" / "training_config.json").read_text())
    assert config["num_workers"] == 2 and config["max_steps"] == STEPS
    assert "trained" in second.stdout and "McNemar" in second.stdout, second.stdout[-2000:]
