"""The main job's pure functions called from a plain script, in the graph's order, with the same
default configs: the baseline for Dagster's orchestration overhead. Usage: plain_pipeline.py ARTIFACTS_DIR

The registry steps (candidate, guards, registration, leaderboard) are not called here: the job
does that extra work, so the measured ratio over-counts Dagster's own overhead, never under-counts it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import DATASETS


def main(artifacts: Path) -> dict:
    from tunix_rt_pipelines.defs.inference.config import InferenceConfig
    from tunix_rt_pipelines.defs.training.config import TrainingConfig
    from tunix_rt_pipelines.lib.datasets.declared import declared_datasets
    from tunix_rt_pipelines.lib.datasets.refs import DatasetRef, load_rows, overlapping_prompts, read_dataset_once
    from tunix_rt_pipelines.lib.evaluation import lock
    from tunix_rt_pipelines.lib.evaluation.compare import compare
    from tunix_rt_pipelines.lib.evaluation.evaluate import evaluate_predictions, read_evaluation
    from tunix_rt_pipelines.lib.inference.predict import predict, predictions_key
    from tunix_rt_pipelines.lib.models.builtin import is_builtin
    from tunix_rt_pipelines.lib.models.loading import describe_folder, resolve_device
    from tunix_rt_pipelines.lib.training.train import train, training_key
    from tunix_rt_pipelines.resources.model_loader import BaseModelResource

    # datasets + the same checks the graph runs
    refs = {}
    traces_key = declared_datasets().training_set  # the job's training set (reasoning-traces-v2 by default)
    for key in ("golden-v1", traces_key):
        data = read_dataset_once(DATASETS / key)
        assert data.rows and not data.all_problems
        refs[key] = DatasetRef.of(key, data)
    golden, traces = load_rows(DATASETS / "golden-v1", refs["golden-v1"]), load_rows(DATASETS / traces_key, refs[traces_key])
    assert not overlapping_prompts(traces, golden)
    status = lock.check_lock()
    assert status.passed, status.message

    base = BaseModelResource().checkpoint(artifacts / "models")  # $TUNIX_RT_BASE_MODEL or builtin:tiny, as the job
    inference, training = InferenceConfig(), TrainingConfig()
    g, device = refs["golden-v1"], resolve_device(inference.device)
    base_pred = predict(base.path, base.sha256, golden, g.sha256, inference,
                        artifacts / "predictions" / predictions_key(base.sha256, g.sha256, inference, device), model_name=base.name)
    result = train(base.path, traces, training, artifacts / "training" / training_key(base.sha256, refs[traces_key].sha256, training),
                   builtin_base=is_builtin(base.name))
    trained = describe_folder(f"{base.name}+sft", result.model_dir)
    trained_pred = predict(result.model_dir, trained.sha256, golden, g.sha256, inference,
                           artifacts / "predictions" / predictions_key(trained.sha256, g.sha256, inference, device), model_name=trained.name)
    base_eval = evaluate_predictions(base_pred.path, golden, g, status.live.sha256, artifacts / "evaluations" / "base")
    trained_eval = evaluate_predictions(trained_pred.path, golden, g, status.live.sha256, artifacts / "evaluations" / "trained")
    c = compare(*(read_evaluation(e.path)[1] for e in (base_eval, trained_eval)))
    return {"base_score": c.base_score, "trained_score": c.trained_score, "delta": c.delta, "p_value": c.p_value}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
