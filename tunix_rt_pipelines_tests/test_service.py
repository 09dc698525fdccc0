"""Contract: deploy/ runs the code location as a Dagster service, exactly as docs/deployment.md says.

PostgreSQL (the CI server, else a private one), a gRPC code server, the webserver and the daemon
start as separate processes on 127.0.0.1 with deploy/dagster.yaml and deploy/workspace.yaml (only
the ports differ: free ones). Through the webserver's GraphQL API, as the UI does: the smoke main
job (`tunix-rt run --smoke`'s config) is launched, queued, started by the daemon and SUCCEEDS, and
is listed under its job; a second run is terminated from the API, ends CANCELED, its process is
gone, and no process log holds a Python traceback. `tunix-rt run` in that environment queues its run,
which the daemon starts. Then
one SIGTERM each stops the three processes within 30 s.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import psutil
import pytest
import sqlalchemy as sa
import yaml
from dagster_graphql import DagsterGraphQLClient

from tunix_rt_pipelines.cli import launch
from tunix_rt_pipelines.cli.pipeline import MAIN_JOB, SMOKE_CONFIG
from tunix_rt_pipelines_tests.testing_utils import REPO_ROOT, answers, default_signals, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
BIN = Path(sys.executable).parent
RUNS_UNDER_JOB = """query($job: String!, $label: String!) {
  runsOrError(filter: {pipelineName: $job, tags: [{key: ".dagster/repository", value: $label}]}) {
    __typename ... on Runs { results { runId status } } ... on PythonError { message } } }"""
STEPS = """query($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { stepStats { stepKey status } } } }"""


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _graphql(port: int, query: str, variables: dict) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["data"]


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def service_env(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """deploy/dagster.yaml in a fresh DAGSTER_HOME on a fresh database; this process uses it too."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    url = sa.make_url(postgres_url)
    env = {"DAGSTER_HOME": str(home), "TUNIX_RT_HOME": str(tmp_path / "tunix_home"), "DAGSTER_PG_HOST": url.host,
           "DAGSTER_PG_PORT": str(url.port), "DAGSTER_PG_DB": url.database, "DAGSTER_PG_USERNAME": url.username,
           "DAGSTER_PG_PASSWORD": url.password or ""}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **env}


def test_the_deployed_service_runs_lists_and_terminates_the_main_job(service_env: dict[str, str], tmp_path: Path):
    code_port, web_port = free_port(), free_port()
    workspace = yaml.safe_load((REPO_ROOT / "deploy" / "workspace.yaml").read_text())
    workspace["load_from"][0]["grpc_server"]["port"] = code_port
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    # The three commands of docs/deployment.md (ports aside), each its own process.
    commands = {
        "code server": [str(BIN / "dagster"), "api", "grpc", "--module-name", launch.MODULE, "--location-name", launch.LOCATION_NAME,
                        "--host", "127.0.0.1", "--port", str(code_port)],
        "webserver": [str(BIN / "dagster-webserver"), "-w", str(tmp_path / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(web_port)],
        "daemon": [str(BIN / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")],
    }
    logs = {name: tmp_path / f"{name.replace(' ', '_')}.log" for name in commands}
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, cmd in commands.items():
            with logs[name].open("w") as log:
                procs[name] = subprocess.Popen(cmd, cwd=tmp_path, env=service_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                               preexec_fn=default_signals)  # as a process manager starts it
            if name == "code server":  # the others load the location from it
                _wait(lambda: _listening(code_port), 300, "the code server")
        _wait(lambda: answers(f"http://127.0.0.1:{web_port}/server_info"), 300, "the webserver")
        client = DagsterGraphQLClient("127.0.0.1", port_number=web_port)

        with dg.DagsterInstance.get() as instance:
            _wait(lambda: launch.queue_daemon_running(instance), 300, "the daemon's queue heartbeat")  # `tunix-rt run` would queue now

            def launch_smoke() -> str:
                return client.submit_job_execution(MAIN_JOB, repository_location_name=launch.LOCATION_NAME,
                                                   repository_name="__repository__", run_config=SMOKE_CONFIG)

            first = launch_smoke()
            status = _wait(lambda: (s := client.get_run_status(first)) in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
                                                                          dg.DagsterRunStatus.CANCELED) and s, 1200, "the first run")
            assert status == dg.DagsterRunStatus.SUCCESS, logs["code server"].read_text()[-3000:]
            listed = _graphql(web_port, RUNS_UNDER_JOB, {"job": MAIN_JOB, "label": f"__repository__@{launch.LOCATION_NAME}"})["runsOrError"]
            assert {"runId": first, "status": "SUCCESS"} in listed["results"]

            second = launch_smoke()
            def training() -> bool:  # the longest step: the termination lands while it runs
                steps = _graphql(web_port, STEPS, {"runId": second})["runOrError"].get("stepStats", [])
                return any(step["stepKey"] == "trained_checkpoint" and step["status"] == "IN_PROGRESS" for step in steps)
            _wait(training, 600, "the second run to start training")
            code_server = psutil.Process(procs["code server"].pid)
            workers = [p for p in code_server.children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
            assert workers, "the run's process was not found under the code server"
            client.terminate_run(second)
            _wait(lambda: client.get_run_status(second) == dg.DagsterRunStatus.CANCELED, 180, "the second run to end CANCELED")
            assert _wait(lambda: not _alive(workers), 60, "the second run's process to exit")

            # `tunix-rt run` from a shell with the service's environment: queued, started by the daemon, awaited.
            cli = subprocess.run([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "run", "--job", "data_quality_job"], cwd=tmp_path,
                                 env=service_env, capture_output=True, text=True, timeout=600)
            assert cli.returncode == 0, cli.stderr[-3000:]
            assert "queued; the daemon starts it" in cli.stdout and "succeeded" in cli.stdout

        started = time.monotonic()
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(timeout=max(1.0, 30 - (time.monotonic() - started)))
        assert time.monotonic() - started < 30
        for name, path in logs.items():
            # No process died with an uncaught exception (a KeyboardInterrupt stack per frame, as `tunix-rt run`
            # used to print). Known and left: Dagster's default console logger (used when a run's config names no
            # logger, as the UI's runs) prints the interrupted step's event with its "Stack Trace:" in the code
            # server's log; it is an event of the run, also in the UI.
            text = path.read_text()
            assert "Traceback" not in text, f"{name} log:\n{text[-3000:]}"
            assert text.count("Stack Trace:") <= 2, f"{name} log:\n{text[-3000:]}"  # the step's and the run's cancel events only
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
