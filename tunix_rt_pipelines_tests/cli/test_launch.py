"""Contract: `tunix-rt run` launches from a private code server through the instance (cli/launch.py).

The private Dagster pieces it stands on (`dagster job launch`'s `_create_run`, the gRPC workspace
target) are pinned here so a Dagster upgrade that moves them fails loudly; the queue is used only
when a daemon serves it; `tunix-rt ui` names the location as `run` does and undoes an inherited
ignored SIGINT before it becomes `dagster dev`.
"""

from __future__ import annotations

import inspect
import signal
import time
from pathlib import Path

import pytest
import yaml

from tunix_rt_pipelines.cli import launch
from tunix_rt_pipelines.cli.main import main


def test_the_private_dagster_pieces_are_where_launch_expects_them():
    from dagster._cli.job import _create_run
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import GrpcServerTarget

    assert set(inspect.signature(_create_run).parameters) == {
        "instance", "code_location", "remote_repo", "remote_job", "run_config", "tags", "op_selection", "run_id"}
    (origin,) = GrpcServerTarget(host="127.0.0.1", port=4321, socket=None, location_name="x").create_origins()
    assert (origin.host, origin.port, origin.location_name) == ("127.0.0.1", 4321, "x")
    assert hasattr(WorkspaceProcessContext, "create_request_context")


def test_the_code_server_serves_this_location_on_loopback_only():
    cmd = launch.code_server_command(4321)
    assert cmd[1:5] == ["-m", "dagster", "api", "grpc"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "4321"
    assert cmd[cmd.index("--module-name") + 1] == "tunix_rt_pipelines.definitions"
    assert cmd[cmd.index("--location-name") + 1] == launch.LOCATION_NAME == "tunix_rt_pipelines"


def test_runs_are_queued_only_while_a_daemon_drains_the_queue(instance):
    from dagster._daemon.types import DaemonHeartbeat

    assert not launch.queue_daemon_running(instance)  # the default coordinator queues, but nobody dequeues
    instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - 600, "QUEUED_RUN_COORDINATOR", "old", errors=[]))
    assert not launch.queue_daemon_running(instance)  # a daemon that stopped ten minutes ago
    instance.add_daemon_heartbeat(DaemonHeartbeat(time.time(), "QUEUED_RUN_COORDINATOR", "live", errors=[]))
    assert launch.queue_daemon_running(instance)


def test_ui_names_the_location_like_run_and_restores_sigint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUNIX_RT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    execs = []
    monkeypatch.setattr("os.execv", lambda path, argv: execs.append((signal.getsignal(signal.SIGINT), argv)))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's background job inherits it
    try:
        assert main(["ui", "--port", "3999"]) == 0
    finally:
        signal.signal(signal.SIGINT, previous)
    handler, argv = execs[0]
    assert handler == signal.SIG_DFL  # else dagster dev ignores SIGINT, and SIGTERM with it
    assert argv[1:3] == ["dev", "-w"] and argv[argv.index("-h") + 1] == "127.0.0.1"
    (entry,) = yaml.safe_load(Path(argv[3]).read_text())["load_from"]
    assert entry["python_module"] == {"module_name": launch.MODULE, "location_name": launch.LOCATION_NAME, "working_directory": str(tmp_path)}


def test_every_place_that_loads_the_code_location_gives_it_the_same_name():
    """A run lists under its job only where the location's name matches the one in its repository label."""
    import tomllib

    root = Path(__file__).parents[2]
    assert tomllib.loads((root / "pyproject.toml").read_text())["tool"]["dagster"]["code_location_name"] == launch.LOCATION_NAME
    (local,) = yaml.safe_load((root / "workspace.yaml").read_text())["load_from"]
    (service,) = yaml.safe_load((root / "deploy" / "workspace.yaml").read_text())["load_from"]
    assert local["python_module"]["location_name"] == service["grpc_server"]["location_name"] == launch.LOCATION_NAME
