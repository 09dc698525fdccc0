"""LoRA vs full fine-tuning on builtin:tiny, same seed, steps and data, side by side: trainable
parameters, seconds per step, and answer_correctness@v1 on golden-v1 of each trained model.

builtin:tiny starts from random weights, so LoRA is off for it by default (`lora.enabled: auto`);
this shows what that choice is worth. Steps default to 300 (the default config trains 1500)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import DATASETS, emit


def _score(model_dir: Path, golden, out: Path) -> tuple[float, int]:
    from tunix_rt_pipelines.lib.evaluation.metrics import score_dataset
    from tunix_rt_pipelines.lib.evaluation.predictions import read_predictions
    from tunix_rt_pipelines.lib.inference.predict import predict
    from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
    from tunix_rt_pipelines.lib.models.loading import folder_sha256

    predict(model_dir, folder_sha256(model_dir), golden.rows, golden.sha256, GenerationSettings(device="cpu"), out)
    report = score_dataset(golden.rows, read_predictions(out / "predictions.jsonl").predictions)
    return report.score, report.correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.training.settings import TrainSettings
    from tunix_rt_pipelines.lib.training.train import train

    golden, traces = read_dataset(DATASETS / "golden-v1"), read_dataset(DATASETS / "reasoning-traces-v1").rows
    result = {"model": "builtin:tiny", "steps": args.steps}
    with tempfile.TemporaryDirectory() as tmp:
        base = create_builtin("tiny", Path(tmp) / "base")
        for name, lora in (("full", {"enabled": "off"}), ("lora", {"enabled": "on", "r": args.lora_r})):
            settings = TrainSettings(max_steps=args.steps, save_steps=args.steps, num_threads=args.threads, device="cpu", lora=lora)
            trained = train(base, traces, settings, Path(tmp) / name, builtin_base=True)
            score, correct = _score(trained.model_dir, golden, Path(tmp) / f"{name}-predictions")
            result |= {f"{name}_trainable_parameters": trained.trainable_parameters, f"{name}_total_parameters": trained.total_parameters,
                       f"{name}_seconds_per_step": round(trained.wall_seconds / max(trained.steps, 1), 4),
                       f"{name}_final_loss": round(trained.final_loss, 4), f"{name}_score": score, f"{name}_correct": correct}
    result["lora_over_full_seconds_per_step"] = round(result["lora_seconds_per_step"] / result["full_seconds_per_step"], 3)
    emit("lora_vs_full", result, args.json)


if __name__ == "__main__":
    main()
