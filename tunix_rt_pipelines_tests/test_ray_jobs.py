"""The gpu pool's steps run as Ray jobs on a separately started cluster (issue 11 §2, slow).

`ray start --head` on 127.0.0.1 (2 CPUs, no GPU, a `gpu_node` label standing in for a GPU node's,
the dashboard's job server on), then `tunix-rt run --smoke` with $TUNIX_RT_RAY_JOBS_ADDRESS pointing
at it: each step of the `gpu` pool (base_predictions, trained_checkpoint, trained_predictions) is a
Ray job in the cluster's job list, reserving the label, labelled with its run and step, and it
succeeded; everything else ran in the run's own process. The run ends with what the same smoke run
gives in process: the same scores, and the same trained weights bit for bit (same sha256).
Cancelling the run (Ctrl-C in `tunix-rt run`, as Terminate in the UI) while a step's Ray job trains
stops that job on the cluster.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tunix_rt_pipelines_tests.ray_cluster import ray_head, wait_for
from tunix_rt_pipelines_tests.testing_utils import default_signals, require_ray

pytestmark = [pytest.mark.slow, require_ray]

GPU_STEPS = {"base_predictions", "trained_checkpoint", "trained_predictions"}
LABEL = '{"gpu_node": 1}'


@pytest.fixture(scope="module")
def cluster():
    """One head for the module: 2 CPUs, no GPU, the label the steps reserve, the job server on."""
    os.environ.setdefault("RAY_AUTH_MODE", "token")  # the head requires Ray's token (~/.ray/auth_token): the client and the CLI too
    with ray_head(num_cpus=2, resources={"gpu_node": 1}, dashboard=True) as head:
        yield head


def _smoke(home: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "TUNIX_RT_HOME": str(home), **env}
    environ.pop("DAGSTER_HOME", None)
    done = subprocess.run([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "run", "--smoke"], cwd=home.parent, env=environ,
                          capture_output=True, text=True, timeout=900, preexec_fn=default_signals)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done


def _summary(home: Path) -> dict:
    """What `tunix-rt report --json` says of the run: both checkpoints' sha256 (the trained one is the weights the
    gpu steps made; the smoke run registers the base, its trained model being no better) and every score."""
    environ = {**os.environ, "TUNIX_RT_HOME": str(home)}
    environ.pop("DAGSTER_HOME", None)
    report = json.loads(subprocess.run([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "report", "--json"], cwd=home.parent,
                                       env=environ, capture_output=True, text=True, check=True, timeout=120).stdout)
    return {side: {k: report[side][k] for k in ("model_sha256", "score", "n", "ci95")} for side in ("base", "trained")} | {
        k: report[k] for k in ("delta", "p_value", "fixed", "broken")}


def test_the_gpu_steps_run_as_ray_jobs_and_give_the_in_process_result(tmp_path: Path, cluster):
    (tmp_path / "local").mkdir()
    (tmp_path / "cluster").mkdir()
    _smoke(tmp_path / "local" / "home")
    in_process = _summary(tmp_path / "local" / "home")

    from ray.job_submission import JobStatus, JobSubmissionClient

    done = _smoke(tmp_path / "cluster" / "home", TUNIX_RT_RAY_JOBS_ADDRESS=cluster.dashboard_url, TUNIX_RT_RAY_JOBS_RESOURCES=LABEL)
    run_id = re.search(r"^run (\S+) succeeded", done.stdout, re.M).group(1)
    jobs = [j for j in JobSubmissionClient(cluster.dashboard_url).list_jobs() if j.metadata.get("dagster/run-id") == run_id]

    assert {j.metadata["tunix-rt/step"] for j in jobs} == GPU_STEPS, [j.submission_id for j in jobs]
    assert all(j.status == JobStatus.SUCCEEDED and j.entrypoint.endswith("-m tunix_rt_pipelines.remote.gpu_step") for j in jobs)
    assert all(j.metadata["dagster/job"] == "base_vs_trained_job" for j in jobs)
    # the step's own log lines came back into the run's log through Pipes
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "trained_checkpoint: " in line]  # the run log is on stderr
    assert any(line.endswith("trained_checkpoint: [pipes] Ray job tunix-rt-" + run_id[:8] + "-trained_checkpoint-0 started.")
               for line in lines), lines
    assert any("trained_checkpoint: step 20/20" in line for line in lines), lines
    assert _summary(tmp_path / "cluster" / "home") == in_process  # the trained weights bit for bit, and every score


def test_cancelling_the_run_stops_the_step_s_ray_job(tmp_path: Path, cluster):
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(cluster.dashboard_url)
    env = {**os.environ, "TUNIX_RT_HOME": str(tmp_path / "home"), "TUNIX_RT_RAY_JOBS_ADDRESS": cluster.dashboard_url,
           "TUNIX_RT_RAY_JOBS_RESOURCES": LABEL}
    env.pop("DAGSTER_HOME", None)
    (tmp_path / "run.yaml").write_text('{"ops": {"trained_checkpoint": {"config": {"max_steps": 400, "logging_steps": 5}}}}')
    proc = subprocess.Popen([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "run", "--smoke", "--config", "run.yaml"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
    try:
        def training_job():  # the trained_checkpoint job, once it logged a training step (the work is under way)
            jobs = [j for j in client.list_jobs() if j.metadata.get("tunix-rt/step") == "trained_checkpoint"]
            return jobs[0] if jobs and "step 5/400" in client.get_job_logs(jobs[0].submission_id) else None

        job = wait_for(training_job, timeout=400, proc=proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    assert re.fullmatch(r"interrupted: run \S+ CANCELED", err.strip().splitlines()[-1]), err[-2000:]
    status = wait_for(lambda: (s := client.get_job_status(job.submission_id)).is_terminal() and s, timeout=60)
    assert status == JobStatus.STOPPED, client.get_job_info(job.submission_id).message
