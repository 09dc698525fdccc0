"""Early stopping on a held-out split of the traces (issue 14 lever): would it stop the default
training earlier, or at a better model? Never measured on golden-v1.

The default settings train builtin:tiny on all of reasoning-traces-v2 but its last `--held-out`
traces (the set is shuffled, so the tail is a fair sample). Every `--every` steps a callback
measures the mean loss on the held-out traces (packed like the training batches, model in eval
mode, no gradient). Early stopping with patience `--patience` would stop at the first evaluation
that is `patience` evaluations past the best one; the script reports that step (or none), the
held-out curve, and the golden-v1 score of the final model.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import DATASETS, emit


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--held-out", type=int, default=300)
    p.add_argument("--every", type=int, default=150)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--steps", type=int, default=0, help="0 = the default max_steps")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    import torch
    from transformers import TrainerCallback

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.evaluation.metrics import score_dataset
    from tunix_rt_pipelines.lib.evaluation.predictions import read_predictions
    from tunix_rt_pipelines.lib.inference.predict import predict
    from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
    from tunix_rt_pipelines.lib.models.builtin import create_builtin
    from tunix_rt_pipelines.lib.models.loading import folder_sha256, load_model
    from tunix_rt_pipelines.lib.training.data import PackingCollator, encode_traces
    from tunix_rt_pipelines.lib.training.settings import TrainSettings
    from tunix_rt_pipelines.lib.training.train import train

    work = Path(tempfile.mkdtemp())
    traces = read_dataset(DATASETS / "reasoning-traces-v2").rows
    fit, held = traces[: -args.held_out], traces[-args.held_out:]
    settings = TrainSettings(**({"max_steps": args.steps} if args.steps else {}))
    base = create_builtin("builtin:tiny", work / "base")
    _, tokenizer = load_model(base, device="cpu")
    tokenizer.padding_side = "right"
    examples = encode_traces(held, tokenizer, settings.max_seq_length).examples
    collate = PackingCollator(tokenizer.pad_token_id, settings.max_seq_length)
    batches = [collate([{"input_ids": e.input_ids, "labels": e.labels} for e in examples[i:i + 32]]) for i in range(0, len(examples), 32)]
    curve: list[tuple[int, float]] = []

    class HeldOutLoss(TrainerCallback):
        def on_step_end(self, _args, state, control, model=None, **_):
            if state.global_step % args.every == 0 or state.global_step == state.max_steps:
                model.eval()
                with torch.no_grad():
                    curve.append((state.global_step, sum(model(**b).loss.item() for b in batches) / len(batches)))
                model.train()

    result = train(base, fit, settings, work / "training", callbacks=[HeldOutLoss()], builtin_base=True)
    best_step, best = min(curve, key=lambda c: c[1])
    stop, best_k = None, 0
    for k, (step, loss) in enumerate(curve):  # `patience` evaluations in a row without a new best: stop
        if loss < curve[best_k][1]:
            best_k = k
        elif k - best_k >= args.patience:
            stop = step
            break
    golden = read_dataset(DATASETS / "golden-v1")
    out = work / "predictions"
    predict(result.model_dir, folder_sha256(result.model_dir), golden.rows, golden.sha256, GenerationSettings(device="cpu"), out)
    report = score_dataset(golden.rows, read_predictions(out / "predictions.jsonl").predictions)
    emit("early_stopping", {"held_out": len(held), "every": args.every, "patience": args.patience,
                            "held_out_loss": [[s, round(v, 4)] for s, v in curve], "best_step": best_step,
                            "best_held_out_loss": round(best, 4), "early_stop_step": stop,
                            "final_score": report.score, "train_seconds": round(result.wall_seconds, 1)}, args.json)


if __name__ == "__main__":
    main()
