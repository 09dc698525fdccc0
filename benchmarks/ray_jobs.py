"""The smoke main job with its gpu-pool steps as Ray jobs on a separately started cluster vs all in
the run's process: whole-run wall time, pair by pair (A B A B ...), and the Ray jobs' own share.

No target: this measures what sending a step to a cluster costs on one machine (job submission,
a fresh interpreter importing torch for each job, log streaming), which a real GPU cluster pays
once per step and wins back only when the step's work is large. Both sides must end with the same
trained sha256 (the run is refused otherwise). Needs the checkout (the test package's ray_head)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, emit


def _smoke(home: Path, extra_env: dict[str, str]) -> tuple[float, str]:
    env = {**os.environ, "TUNIX_RT_HOME": str(home), "RAY_AUTH_MODE": "token", **extra_env}
    env.pop("DAGSTER_HOME", None)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "run", "--smoke"], env=env, cwd=home.parent,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"tunix-rt run --smoke failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    report = subprocess.run([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "report", "--json"], env=env, cwd=home.parent,
                            capture_output=True, text=True, check=True)
    return wall, json.loads(report.stdout)["trained"]["model_sha256"]  # the weights the gpu steps trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["RAY_AUTH_MODE"] = "token"  # the head requires Ray's token; read when ray is imported
    from ray.job_submission import JobSubmissionClient

    from tunix_rt_pipelines_tests.ray_cluster import ray_head

    local, remote, job_seconds = [], [], []
    with tempfile.TemporaryDirectory() as tmp, ray_head(num_cpus=2, resources={"gpu_node": 1}, dashboard=True) as head:
        ray_env = {"TUNIX_RT_RAY_JOBS_ADDRESS": head.dashboard_url, "TUNIX_RT_RAY_JOBS_RESOURCES": '{"gpu_node": 1}'}
        for i in range(args.pairs):
            (Path(tmp) / f"a{i}").mkdir(), (Path(tmp) / f"b{i}").mkdir()
            wall_a, sha_a = _smoke(Path(tmp) / f"a{i}" / "home", {})
            wall_b, sha_b = _smoke(Path(tmp) / f"b{i}" / "home", ray_env)
            if sha_a != sha_b:
                sys.exit(f"pair {i}: in process trained {sha_a[:12]}, on Ray {sha_b[:12]}: not the same model")
            local.append(wall_a)
            remote.append(wall_b)
            print(f"pair {i}: in process {wall_a:.1f} s, gpu steps as Ray jobs {wall_b:.1f} s, same sha {sha_a[:12]}", flush=True)
        jobs = JobSubmissionClient(head.dashboard_url).list_jobs()
        job_seconds = [(j.end_time - j.start_time) / 1000 for j in jobs if j.end_time]
    ratios = [b / a for a, b in zip(local, remote)]
    emit("ray_jobs", {
        "in_process_wall_s": [round(w, 1) for w in local], "ray_jobs_wall_s": [round(w, 1) for w in remote],
        "ratio_ray_over_in_process": [round(r, 2) for r in ratios], "median_ratio": round(statistics.median(ratios), 2),
        "ray_jobs": len(job_seconds), "median_ray_job_s": round(statistics.median(job_seconds), 1),
        "same_trained_sha256": True,
    }, args.json)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
