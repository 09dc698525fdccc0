"""The sweep with real Ray (slow): the CI smoke sweep (2 trials, builtin:tiny, a few steps, CPU)
through sweep_job; a rerun of a finished sweep restores it without rerunning a trial, and
force=True is recorded; a failed trial is recorded with its error and no score, and
max_failures decides; a sweep interrupted mid-way resumes without rerunning finished trials;
and the sweep runs on a separately started `ray start --head` cluster through ray_address."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.jobs import sweep_job
from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.lib.models.loading import folder_sha256
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.ray_cluster import ray_head, wait_for
from tunix_rt_pipelines_tests.sweep.conftest import SMOKE_INFERENCE, SMOKE_TRAINING
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS, require_ray

pytestmark = [pytest.mark.slow, require_ray]

LR_SPACE = {"learning_rate": {"type": "loguniform", "min": 1e-3, "max": 1e-2}}


def smoke_config(**overrides) -> SweepConfig:
    return SweepConfig(**{"num_samples": 2, "max_concurrent_trials": 2, "search_space": LR_SPACE, "training": SMOKE_TRAINING,
                          "inference": SMOKE_INFERENCE, **overrides})


def resources(tmp_path: Path, model_dir: Path, num_cpus: int = 2) -> dict:
    """The code location's resources, with test storage, model and a 2-CPU local Ray."""
    return {**defs.resources, "storage": ProjectStorage(datasets_dir=str(REAL_DATASETS), artifacts_dir=str(tmp_path / "artifacts")),
            "base_model": BaseModelResource(name_or_path=str(model_dir)), "ray": RayResource(num_cpus=num_cpus)}


def run_sweep_job(instance, res: dict, config: SweepConfig):
    graph = dg.Definitions(assets=list(defs.assets), asset_checks=list(defs.asset_checks), jobs=[sweep_job], resources=res)
    return graph.resolve_job_def("sweep_job").execute_in_process(instance=instance, raise_on_error=False,
                                                                 run_config=dg.RunConfig(ops={"tuning_sweep": config}))


def sweep_only(instance, res: dict, config: SweepConfig):
    """tuning_sweep on its own (upstream loaded from the instance): no evaluation_lock in this run."""
    return dg.materialize(list(defs.assets), selection=["tuning_sweep"], instance=instance, resources=res, raise_on_error=False,
                          run_config=dg.RunConfig(ops={"tuning_sweep": config}))


def sweep_metadata(result) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node("tuning_sweep")[0].metadata.items()}


def step_failure(result) -> str:
    return next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message


def test_smoke_sweep_then_rerun_restores_and_records_force(tmp_path, tiny_model_dir, instance):
    res = resources(tmp_path, tiny_model_dir)
    start = time.perf_counter()
    result = run_sweep_job(instance, res, smoke_config())
    print(f"smoke sweep_job: {time.perf_counter() - start:.1f}s")
    assert result.success
    md = sweep_metadata(result)
    sweep_dir = Path(md["sweep_dir"])
    payload = json.loads(Path(md["results"]).read_text())
    trials = payload["trials"]
    assert [t["status"] for t in trials] == ["succeeded", "succeeded"] and [t["attempts"] for t in trials] == [1, 1]
    assert payload["evaluation_lock"] == {"checked_in_run": True, "passed": True, "forced": False}
    assert sweep_dir == tmp_path / "artifacts" / "tuning" / md["sweep_id"]
    # the best trial by the spec's order, its persisted checkpoint hashing to the model it scored
    best = max(trials, key=lambda t: (t["score"], t["ci95"][0], -t["index"]))
    assert md["best_trial"] == best["trial_id"] == payload["best"]["trial_id"]
    best_checkpoint = tmp_path / "artifacts" / md["best_checkpoint"]["path"]  # a pointer, relative to the artifact root
    assert md["best_checkpoint_sha256"] == md["best_checkpoint"]["sha256"] == folder_sha256(best_checkpoint) == best["model_sha256"]
    assert best_checkpoint.is_relative_to(sweep_dir / "experiment")
    assert md["best_params"] == best["params"] and 1e-3 <= best["params"]["learning_rate"] <= 1e-2
    assert 0.0 <= md["best_ci95_low"] <= md["best_score"] <= md["best_ci95_high"] <= 1.0
    assert [r.data["status"] for r in md["trials"].records] == ["succeeded", "succeeded"]
    assert md["metric_by_trial"].startswith("![answer_correctness by trial](data:image/png;base64,")
    assert (sweep_dir / "trials.csv").exists() and md["resumed"] is False and md["forced"] is False
    result_files = {t["trial_id"]: (sweep_dir / "experiment" / f"trial_{t['trial_id']}" / "result.json").read_text() for t in trials}

    # Rerun on its own with force=True: no lock in this run, so only force lets it through; the
    # sweep id is the same (force is operational), so the finished experiment is restored.
    start = time.perf_counter()
    again = sweep_only(instance, res, smoke_config(force=True))
    print(f"restored sweep: {time.perf_counter() - start:.1f}s")
    assert again.success
    md2 = sweep_metadata(again)
    payload2 = json.loads(Path(md2["results"]).read_text())
    assert md2["sweep_id"] == md["sweep_id"] and md2["resumed"] is True and md2["forced"] is True
    assert payload2["evaluation_lock"]["forced"] is True and payload2["evaluation_lock"]["checked_in_run"] is False
    assert "matches the pinned hash" in payload2["evaluation_lock"]["live_lock"]
    assert [t["attempts"] for t in payload2["trials"]] == [1, 1]  # no trial ran again
    assert md2["best_trial"] == md["best_trial"] and md2["best_checkpoint_sha256"] == md["best_checkpoint_sha256"]
    assert {t: (sweep_dir / "experiment" / f"trial_{t}" / "result.json").read_text() for t in result_files} == result_files


def test_failed_trial_is_recorded_not_scored_and_max_failures_decides(tmp_path, tiny_model_dir, instance):
    res = resources(tmp_path, tiny_model_dir)
    # seed 1 samples max_seq_length 32 (every trace too long: training cannot start) then 160
    config = smoke_config(search_space={"max_seq_length": {"type": "choice", "values": [32, 160]}}, seed=1)
    result = run_sweep_job(instance, res, config)
    assert not result.success
    message = step_failure(result)
    assert "1 of 2 trials failed, more than max_failures=0" in message
    assert "{\"max_seq_length\": 32}: ValueError: no training examples" in message
    sweep_dir = next((tmp_path / "artifacts" / "tuning").iterdir())
    payload = json.loads((sweep_dir / "sweep_results.json").read_text())
    failed, ok = payload["trials"]
    assert failed["params"] == {"max_seq_length": 32} and failed["status"] == "failed"
    assert failed["score"] is None and failed["ci95"] is None and "no training examples" in failed["error"]
    assert ok["status"] == "succeeded" and ok["score"] is not None

    # Allowing one failure is operational: same sweep, restored, nothing rerun, and now it passes.
    again = run_sweep_job(instance, res, config.model_copy(update={"max_failures": 1}))
    assert again.success
    md = sweep_metadata(again)
    assert md["resumed"] is True and md["trials_failed"] == 1 and md["trials_succeeded"] == 1
    assert md["best_params"] == {"max_seq_length": 160}
    payload = json.loads(Path(md["results"]).read_text())
    assert [t["attempts"] for t in payload["trials"]] == [1, 1]
    assert payload["trials"][0]["error"] == failed["error"]


def test_interrupted_sweep_resumes_without_rerunning_finished_trials(tmp_path, tiny_model_dir, instance):
    # Trials long enough (~10 s of training each) that the second is still running when SIGINT lands.
    config = smoke_config(max_concurrent_trials=1, training={**SMOKE_TRAINING, "max_steps": 60})
    args = {"artifacts": str(tmp_path / "artifacts"), "model_dir": str(tiny_model_dir), "num_cpus": 1,
            "config": json.loads(config.model_dump_json())}
    proc = subprocess.Popen([sys.executable, "-m", "tunix_rt_pipelines_tests.sweep.sweep_driver", json.dumps(args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        first = wait_for(lambda: next(iter((tmp_path / "artifacts" / "tuning").glob("*/experiment/trial_*_00000/checkpoint_000000")), None),
                          timeout=300, proc=proc)
        time.sleep(1)  # let Tune register the result
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 3, output[-3000:]
    assert "INTERRUPTED the sweep stopped with 1 of 2 trials finished" in output
    trial_dir = first.parent
    finished_result = (trial_dir / "result.json").read_text()

    result = run_sweep_job(instance, resources(tmp_path, tiny_model_dir), config)
    assert result.success
    md = sweep_metadata(result)
    payload = json.loads(Path(md["results"]).read_text())
    assert md["resumed"] is True and [t["status"] for t in payload["trials"]] == ["succeeded", "succeeded"]
    assert payload["trials"][0]["attempts"] == 1  # the finished trial did not run again
    assert (trial_dir / "result.json").read_text() == finished_result


def test_sweep_on_a_separately_started_cluster(tmp_path, tiny_model_dir, instance, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # the cluster below requires Ray's token (~/.ray/auth_token)
    with ray_head(num_cpus=2) as head:
        address = head.address
        # The resource's own local Ray would have 1 CPU; the cluster has 2: the metadata says which one ran the sweep.
        result = run_sweep_job(instance, resources(tmp_path, tiny_model_dir, num_cpus=1),
                               smoke_config(num_samples=1, ray_address=address))
    assert result.success, step_failure(result) if not result.success else ""
    md = sweep_metadata(result)
    assert md["ray_cluster"]["CPU"] == 2.0
    assert md["trials_succeeded"] == 1
