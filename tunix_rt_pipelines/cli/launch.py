"""`tunix-rt run` launches its run the way the UI does: through the instance, from a code server.

A run executed in the CLI's own process has no code-location origin: the UI lists it under no
job and cannot terminate it ("Unable to get grpc client"). Here the CLI starts a private gRPC
code server for the code location (`dagster api grpc`, 127.0.0.1, a free port), builds the run
from that location (the code behind `dagster job launch`, so the run carries the repository
origin and shows under its job), and hands it to the instance: to the run queue when a daemon is
serving it (a service, or `tunix-rt ui`), else straight to the run launcher, which starts the
run in a process of that code server. The CLI then waits on the instance; Ctrl-C cancels the run
through the instance, as the UI's Terminate button does.

The code server runs in its own session, so the terminal's Ctrl-C reaches only the CLI (which
cancels the run cleanly) and never the run's process directly (which printed a stack per frame).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

MODULE = "tunix_rt_pipelines.definitions"
# The one name of this code location everywhere (pyproject [tool.dagster], workspace.yaml, deploy/,
# the workspace `tunix-rt ui` writes): a run's repository label is repository@location, and the UI
# lists under a job only the runs whose label matches the location it loaded.
LOCATION_NAME = "tunix_rt_pipelines"
HOST = "127.0.0.1"
_QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"
_HEARTBEAT_FRESH_S = 60.0


class LaunchError(Exception):
    """The code server would not start or the job could not be built; the message says why."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _serving(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((HOST, port)) == 0


def code_server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "dagster", "api", "grpc", "--module-name", MODULE, "--location-name", LOCATION_NAME,
            "--host", HOST, "--port", str(port), "--log-level", "warning"]


@contextmanager
def code_server(timeout_s: float = 180.0) -> Iterator[int]:
    """A private code server for this code location; yields its port, stops it (and its runs' processes) on exit."""
    port = _free_port()
    # Own session: Ctrl-C in the terminal goes to the CLI only; it cancels the run through the instance.
    proc = subprocess.Popen(code_server_command(port), start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while not _serving(port):
            if proc.poll() is not None:
                raise LaunchError(f"the code server for {MODULE} exited with code {proc.returncode} before serving; its output is above")
            if time.monotonic() > deadline:
                raise LaunchError(f"the code server for {MODULE} did not serve on {HOST}:{port} within {timeout_s:.0f} s")
            time.sleep(0.2)
        yield port
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the code server (it shuts down cleanly), then SIGKILL whatever is left in its process group.

    Only the server gets SIGTERM: a run process still exiting would turn it into a KeyboardInterrupt stack.
    """
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # a run process left behind (only after an abandoned cancel)
    proc.wait()


def queue_daemon_running(instance) -> bool:
    """True when the instance queues runs and a daemon has dequeued recently (a service, or `tunix-rt ui`)."""
    from dagster._core.run_coordinator import QueuedRunCoordinator

    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        return False
    beat = instance.get_daemon_heartbeats().get(_QUEUE_DAEMON)
    return beat is not None and time.time() - beat.timestamp < _HEARTBEAT_FRESH_S


@contextmanager
def _workspace(instance, port: int):
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import GrpcServerTarget

    target = GrpcServerTarget(host=HOST, port=port, socket=None, location_name=LOCATION_NAME)
    with WorkspaceProcessContext(instance, target) as process_context:
        workspace = process_context.create_request_context()
        error = workspace.get_code_location_error(LOCATION_NAME)
        if error is not None:
            raise LaunchError(f"code location {LOCATION_NAME} did not load: {error.message.strip().splitlines()[-1]}")
        yield workspace


def create_run(instance, workspace, job_name: str, run_config: Mapping[str, Any]):
    """A NOT_STARTED run of `job_name` built from the code location, with its repository origin."""
    # Private: the body of `dagster job launch`; tunix_rt_pipelines_tests/cli/test_launch.py fails if it moves.
    from dagster._cli.job import _create_run

    location = workspace.get_code_location(LOCATION_NAME)
    (repo,) = location.get_repositories().values()
    return _create_run(instance=instance, code_location=location, remote_repo=repo, remote_job=repo.get_full_job(job_name),
                       run_config=run_config, tags=None, op_selection=None, run_id=None)


def start(instance, port: int, job_name: str, run_config: Mapping[str, Any]) -> tuple[str, bool]:
    """Create and start a run from the code server on `port`; returns (run id, whether it was queued)."""
    with _workspace(instance, port) as workspace:
        run = create_run(instance, workspace, job_name, run_config)
        queued = queue_daemon_running(instance)
        try:
            if queued:
                instance.submit_run(run.run_id, workspace)
            else:
                instance.launch_run(run.run_id, workspace)
        except BaseException:
            cancel(instance, run.run_id)
            raise
    return run.run_id, queued


def wait(instance, run_id: str, timeout_s: float | None = None, poll_s: float = 0.5):
    """The run once it has finished (or as it is when `timeout_s` runs out)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        run = instance.get_run_by_id(run_id)
        if run.is_finished or (deadline is not None and time.monotonic() > deadline):
            return run
        time.sleep(poll_s)


def cancel(instance, run_id: str, timeout_s: float = 90.0):
    """Cancel through the instance, as the UI's Terminate does, and wait for the run to end; returns the run."""
    import dagster as dg

    run = instance.get_run_by_id(run_id)
    if run.is_finished:
        return run
    if run.status == dg.DagsterRunStatus.NOT_STARTED:
        instance.report_run_canceled(run)  # never reached a launcher: nothing to stop
    else:
        instance.run_coordinator.cancel_run(run_id)
    return wait(instance, run_id, timeout_s)


def cancel_after_interrupt(instance, run_id: str):
    """`cancel` after Ctrl-C; a second Ctrl-C stops waiting: the run is marked canceled (its process stops with the code server)."""
    try:
        run = cancel(instance, run_id)
    except KeyboardInterrupt:
        run = instance.get_run_by_id(run_id)
    if not run.is_finished:
        instance.report_run_canceled(run, message="tunix-rt run was interrupted; the run's processes were stopped")
        run = instance.get_run_by_id(run_id)
    return run


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a process manager, `timeout`) stops the run as Ctrl-C does, whatever handler was inherited."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
