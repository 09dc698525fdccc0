"""Sweep concurrency and Ray's per-trial overhead, on the real trial (train -> predict -> evaluate).

Runs the same 4 seeded trials three ways and prints the ratios:

    direct       the 4 trials one after another in this process, no Ray (the work itself)
    sequential   Ray Tune, max_concurrent_trials=1
    concurrent   Ray Tune, max_concurrent_trials=2 (1 CPU and 1 torch thread per trial)

Bar (issue 5): concurrent <= 0.65 x sequential on 2 cores. Ray's per-trial overhead is
(sequential - direct) / trials: worker start, imports in the fresh worker, checkpoint copy,
bookkeeping. Ray's start-up is timed separately and left out of both Ray walls.

    uv run python benchmarks/sweep_concurrency.py            # the measurement (~5-10 min on 2 quiet cores)
    uv run python benchmarks/sweep_concurrency.py --smoke    # the script works (tiny trials, ~2 min)

Results are printed and written to benchmarks/.out/sweep_concurrency.json. The load average
is printed with them: figures taken on a busy machine say little about the bar.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TARGET_RATIO = 0.65
FULL = {"training": {"max_steps": 120, "batch_size": 16, "max_train_samples": 1920, "warmup_steps": 0, "save_steps": 1000, "logging_steps": 10},
        "inference": {"max_items": 60, "max_new_tokens": 64, "batch_size": 20}}
SMOKE = {"training": {"max_steps": 2, "batch_size": 8, "max_train_samples": 16, "warmup_steps": 0, "save_steps": 1000, "logging_steps": 1},
         "inference": {"max_items": 4, "max_new_tokens": 8, "batch_size": 4}}


def _inputs(work: Path, sizes: dict, model_dir: Path):
    from tunix_rt_pipelines.environment import BUILTIN_DATASETS_DIR as DATASETS
    from tunix_rt_pipelines.lib.datasets.contract import GOLDEN_KEY, TRACES_KEY
    from tunix_rt_pipelines.lib.datasets.refs import DatasetRef, read_dataset_once
    from tunix_rt_pipelines.lib.evaluation.lock import spec_sha256
    from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
    from tunix_rt_pipelines.lib.sweep.search_space import integer_keys
    from tunix_rt_pipelines.lib.sweep.trainable import TrialInputs
    from tunix_rt_pipelines.lib.training.settings import TrainSettings

    def ref(key: str) -> DatasetRef:
        return DatasetRef.of(key, read_dataset_once(DATASETS / key))

    return TrialInputs(base_dir=model_dir, traces=ref(TRACES_KEY), traces_dir=DATASETS / TRACES_KEY, golden=ref(GOLDEN_KEY),
                       golden_dir=DATASETS / GOLDEN_KEY, spec_sha256=spec_sha256(), training=TrainSettings(**sizes["training"]),
                       inference=GenerationSettings(**sizes["inference"]), work_root=work / "trials", cpus_per_trial=1.0,
                       gpus_per_trial=0.0, int_keys=integer_keys(TrainSettings.model_fields), builtin_base=True)


def _ray_sweep(name: str, root: Path, inputs, trials: int, concurrent: int, reuse: bool) -> tuple[float, list]:
    import dataclasses

    from tunix_rt_pipelines.lib.sweep.search_space import parse_search_space
    from tunix_rt_pipelines.lib.sweep.tuner import SweepPlan, run_sweep
    from tunix_rt_pipelines.lib.training.settings import TrainSettings

    space = parse_search_space({"learning_rate": {"type": "loguniform", "min": 1e-3, "max": 1e-2}}, TrainSettings.model_fields)
    sweep_dir = root / name
    plan = SweepPlan(sweep_dir=sweep_dir, space=space, inputs=dataclasses.replace(inputs, work_root=sweep_dir / "trials"),
                     num_samples=trials, seed=0, metric="answer_correctness", mode="max", max_concurrent_trials=concurrent,
                     reuse_workers=reuse)
    start = time.perf_counter()
    run = run_sweep(plan)
    wall = time.perf_counter() - start
    failed = [r for r in run.records if r.status != "succeeded"]
    if failed:
        raise SystemExit(f"{name}: {len(failed)} trial(s) did not succeed: {[r.error for r in failed]}")
    return wall, run.records


def _direct(root: Path, inputs, params: list[dict]) -> tuple[float, list[float]]:
    import dataclasses

    from tunix_rt_pipelines.lib.sweep.trainable import evaluate_trial

    inputs = dataclasses.replace(inputs, work_root=root / "direct")
    start, per_trial = time.perf_counter(), []
    for i, p in enumerate(params):
        t = time.perf_counter()
        evaluate_trial(p, inputs, root / "direct" / f"t{i}")
        per_trial.append(time.perf_counter() - t)
    return time.perf_counter() - start, per_trial


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny trials: checks the script, not the bar")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--fresh-workers", action="store_true", help="a new Ray worker per trial (reuse_workers=False)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / ".out" / "sweep_concurrency.json")
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    load_before = os.getloadavg()

    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.ray_env import import_ray

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        root = Path(tmp)
        inputs = _inputs(root, sizes, create_builtin("builtin:tiny", root / "model", seed=0))
        ray = import_ray()
        start = time.perf_counter()
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - start
        try:
            reuse = not args.fresh_workers
            sequential, records = _ray_sweep("sequential", root, inputs, args.trials, concurrent=1, reuse=reuse)
            concurrent, records2 = _ray_sweep("concurrent", root, inputs, args.trials, concurrent=2, reuse=reuse)
        finally:
            ray.shutdown()
        params = [r.params for r in records]
        assert params == [r.params for r in records2], "the seeded search sampled different trials"
        direct, per_trial = _direct(root, inputs, params)

    ratio = concurrent / sequential
    overhead = (sequential - direct) / args.trials
    result = {
        "smoke": args.smoke, "trials": args.trials, "reuse_workers": not args.fresh_workers, "sizes": sizes, "ray_start_s": round(ray_start, 2),
        "direct_s": round(direct, 2), "direct_per_trial_s": [round(t, 2) for t in per_trial],
        "sequential_s": round(sequential, 2), "concurrent_s": round(concurrent, 2),
        "ray_trial_s": [round(r.duration_s, 2) for r in records], "in_trial_work_s": [round(r.metrics["trial_seconds"], 2) for r in records],
        "concurrent_over_sequential": round(ratio, 3), "target": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO,
        "ray_overhead_per_trial_s": round(overhead, 2), "ray_overhead_share": round(overhead * args.trials / sequential, 3),
        "load_average_before": [round(x, 2) for x in load_before], "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(), "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"\nconcurrent/sequential = {ratio:.2f} (target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    print(f"Ray overhead per trial = {overhead:.1f}s ({overhead * args.trials / sequential:.0%} of the sequential sweep); "
          f"Ray start-up {ray_start:.1f}s (once per sweep)")
    print(f"load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
