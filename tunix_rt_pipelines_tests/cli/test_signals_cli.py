"""Contract: the long-running commands stop on the first signal, cleanly.

- Ctrl-C in `tunix-rt run` (SIGINT to its process group, as a terminal sends it) or SIGTERM cancels the run
  through the instance: exit 130, one `interrupted: run <id> CANCELED` line, no traceback, the run
  CANCELED in the instance and its processes (code server, run process) gone.
- `tunix-rt ui`, started the way a shell starts a background job (SIGINT ignored, which dagster dev
  used to extend to SIGTERM), stops on one SIGTERM with every child process within 30 s.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest

from tunix_rt_pipelines_tests.testing_utils import answers, default_signals, free_port

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "TUNIX_RT_HOME": str(tmp_path / "home")}
    env.pop("DAGSTER_HOME", None)
    return env


def _wait(predicate, timeout_s: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"exited with {proc.returncode} while waiting for {what}:\n{(out or '')[-2000:]}\n{(err or '')[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _has_a_run(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM runs").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])  # a terminal; a process manager
def test_ctrl_c_in_run_cancels_the_run_in_one_line(tmp_path: Path, sig: signal.Signals):
    proc = subprocess.Popen([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "run", "--smoke"], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=default_signals)  # as from a terminal, however pytest was started
    try:
        home = tmp_path / "home" / "dagster_home"
        # Read-only until the run exists: opening a DagsterInstance on a fresh SQLite home while the CLI's
        # code server creates its tables races the schema stamping (two alembic heads).
        _wait(lambda: _has_a_run(home / "history" / "runs.db"), 300, "the run to be created", proc)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            def training_started():  # the longest step: the cancel lands while it runs
                runs = instance.get_runs()
                starts = runs and instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_START)
                return starts and any(e.step_key == "trained_checkpoint" for e in starts) and runs[0]
            run = _wait(training_started, 600, "training to start", proc)
            children = psutil.Process(proc.pid).children(recursive=True)  # the code server and the run's process
            assert len(children) >= 2
            os.killpg(proc.pid, sig)
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 130, err[-3000:]
            assert err.strip().splitlines()[-1] == f"interrupted: run {run.run_id} CANCELED"
            assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED
            assert _wait(lambda: not _alive(children), 30, "the code server and run process to exit")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_ui_stops_with_its_children_on_one_sigterm(tmp_path: Path):
    port = free_port()
    children: list[psutil.Process] = []
    log = (tmp_path / "ui.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "ui", "--port", str(port)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # as `tunix-rt ui &` in a script
    try:
        _wait(lambda: answers(f"http://127.0.0.1:{port}/server_info"), 600, "the webserver", proc)
        children = _wait(lambda: len(c := psutil.Process(proc.pid).children(recursive=True)) >= 3 and c, 120,
                         "the webserver, daemon and code server")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert _wait(lambda: not _alive(children), max(1.0, 30 - (time.monotonic() - started)), "every child to exit")
    finally:
        log.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for child in _alive(children):
            child.kill()
