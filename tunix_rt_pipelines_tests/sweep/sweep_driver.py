"""Runs one sweep outside Dagster exactly as `tuning_sweep` would (same id, folder and plan), so
a test can interrupt it with SIGINT mid-way and then resume it through `sweep_job`.

    python -m tunix_rt_pipelines_tests.sweep.sweep_driver '{"artifacts": ..., "model_dir": ..., "config": {...}}'

Exit status: 0 finished, 3 interrupted (Ray Tune saved the experiment for a resume).
"""

import json
import sys
from pathlib import Path

from tunix_rt_pipelines.defs.sweep.assets import build_plan, sweep_identity
from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.lib.datasets.contract import GOLDEN_KEY
from tunix_rt_pipelines.lib.datasets.declared import declared_datasets
from tunix_rt_pipelines.lib.evaluation.lock import spec_sha256
from tunix_rt_pipelines.lib.models.loading import describe_folder
from tunix_rt_pipelines.lib.pointer import Pointer
from tunix_rt_pipelines.lib.sweep.tuner import SweepInterrupted, claim_sweep_dir, reserve_trials, run_sweep, sweep_key
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.sweep.conftest import dataset_ref
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS


def main(argv: list[str]) -> int:
    args = json.loads(argv[1])
    config = SweepConfig(**args["config"])
    spec = spec_sha256()
    traces_key = declared_datasets().training_set  # what the job's sweep trains on, so the job resumes this sweep
    golden, traces = dataset_ref(GOLDEN_KEY), dataset_ref(traces_key)
    checkpoint = describe_folder(args["model_dir"], Path(args["model_dir"]))
    base = Pointer(path=checkpoint.path.as_posix(), sha256=checkpoint.sha256)
    identity = sweep_identity(config, spec, golden, traces, base)
    sweep_dir = ProjectStorage(artifacts_dir=args["artifacts"]).artifacts_path("tuning", config.sweep_id or sweep_key(identity))
    claim_sweep_dir(sweep_dir, identity)
    print(f"SWEEP_DIR {sweep_dir}", flush=True)
    plan = build_plan(config, sweep_dir, {"base_dir": checkpoint.path, "traces": traces, "traces_dir": REAL_DATASETS / traces_key,
                                          "golden": golden, "golden_dir": REAL_DATASETS / GOLDEN_KEY, "spec_sha256": spec})
    with RayResource(num_cpus=args.get("num_cpus", 1)).session() as cluster:
        try:
            run_sweep(reserve_trials(plan, cluster)[0])
        except SweepInterrupted as exc:
            print(f"INTERRUPTED {exc}", flush=True)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
