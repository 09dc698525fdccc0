"""Data-parallel training on Ray Train vs one process, on builtin:tiny, at equal total samples.

Three layouts train the same steps on the same global batch (so the same samples), each then
scored with answer_correctness@v1 on golden-v1:

- `2x1`: 2 Ray Train CPU workers x 1 torch thread (each worker half the batch; gloo all-reduce),
- `1x2`: today's in-process path, 1 worker x 2 threads,
- `1x1-half`: 1 worker x 1 thread on half the batch: what one data-parallel worker computes per
  step, so `1 - (1x1-half s/step) / (2x1 s/step)` is the share of a 2x1 step spent outside the
  forward/backward (gradient all-reduce, waiting for the slower worker, DDP bookkeeping).

Each layout runs in its own process (`--layout`), so the layouts can be timed side by side as
whole processes; `--layout all` runs the three in turn and prints the ratios. Training wall
(`trainer.train()` alone) and process wall (with Ray's start-up and the scoring) are both reported.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATASETS, emit

LAYOUTS = {"2x1": {"num_workers": 2, "cpus_per_worker": 1}, "1x2": {"num_threads": 2}, "1x1-half": {"num_threads": 1, "half_batch": True}}


def run_layout(layout: str, steps: int, batch_size: int) -> dict:
    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.evaluation.metrics import score_dataset
    from tunix_rt_pipelines.lib.evaluation.predictions import read_predictions
    from tunix_rt_pipelines.lib.inference.predict import predict
    from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.models.loading import folder_sha256
    from tunix_rt_pipelines.lib.training.settings import TrainSettings

    start = time.perf_counter()
    spec = dict(LAYOUTS[layout])
    batch = batch_size // 2 if spec.pop("half_batch", False) else batch_size
    golden, traces = read_dataset(DATASETS / "golden-v1"), read_dataset(DATASETS / "reasoning-traces-v1").rows
    settings = TrainSettings(max_steps=steps, save_steps=steps, batch_size=batch, device="cpu", **spec)
    with tempfile.TemporaryDirectory() as tmp:
        base = create_builtin("tiny", Path(tmp) / "base")
        if settings.num_workers > 1:
            from tunix_rt_pipelines.lib.ray_env import import_ray
            from tunix_rt_pipelines.lib.training.ray_train import train_data_parallel

            ray = import_ray()
            ray.init(address="local", num_cpus=settings.num_workers * settings.cpus_per_worker, include_dashboard=False, log_to_driver=False)
            try:
                trained = train_data_parallel(base, traces, settings, Path(tmp) / "work", builtin_base=True)
            finally:
                ray.shutdown()
        else:
            from tunix_rt_pipelines.lib.training.train import train

            trained = train(base, traces, settings, Path(tmp) / "work", builtin_base=True)
        out = Path(tmp) / "predictions"
        predict(trained.model_dir, folder_sha256(trained.model_dir), golden.rows, golden.sha256, GenerationSettings(device="cpu"), out)
        report = score_dataset(golden.rows, read_predictions(out / "predictions.jsonl").predictions)
    return {"layout": layout, "steps": trained.steps, "batch_size": batch, "train_seconds": round(trained.wall_seconds, 2),
            "seconds_per_step": round(trained.wall_seconds / max(trained.steps, 1), 4), "final_loss": round(trained.final_loss, 4),
            "score": report.score, "correct": report.correct, "process_seconds": round(time.perf_counter() - start, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", choices=[*LAYOUTS, "all"], default="all")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch (2x1 and 1x2); 1x1-half trains on half of it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.layout != "all":
        emit("ray_train", run_layout(args.layout, args.steps, args.batch_size), args.json)
        return
    runs = {}
    for layout in LAYOUTS:  # each in a fresh process: one layout's threads or Ray never linger into the next
        out = subprocess.run([sys.executable, __file__, "--layout", layout, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                              "--json"], capture_output=True, text=True, check=True).stdout
        runs[layout] = json.loads(out.strip().splitlines()[-1])
    two, one, half = runs["2x1"], runs["1x2"], runs["1x1-half"]
    emit("ray_train", {"runs": runs,
                       "train_wall_2x1_over_1x2": round(two["train_seconds"] / one["train_seconds"], 3),
                       "process_wall_2x1_over_1x2": round(two["process_seconds"] / one["process_seconds"], 3),
                       "score_points_2x1_minus_1x2": round(100 * (two["score"] - one["score"]), 1),
                       "communication_share_of_a_2x1_step": round(1 - half["seconds_per_step"] / two["seconds_per_step"], 3)}, args.json)


if __name__ == "__main__":
    main()
