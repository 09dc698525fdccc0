"""Every job of the code location, in one place.

Jobs select assets by key, so this module imports no asset module: sensors and schedules
import the jobs, never the other way round. All of them run in-process (the executor is set
once, in `definitions.py`): every step of this graph loads torch/transformers, and a
multiprocess executor would spawn a fresh interpreter and re-import them (~8 s) per step.
Steps that need the accelerator are in the `gpu` pool, so separate runs never share a card.
Selecting an asset pulls in its checks, so every blocking check gates the run it belongs to.
"""

import dagster as dg

from tunix_rt_pipelines.lib.datasets.declared import asset_name, declared_datasets

EXTRA_SETS = [asset_name(k) for k in declared_datasets().extra_eval_sets]  # further declared eval sets (tunix_rt.yaml)
PRIMARY = asset_name(declared_datasets().primary)  # golden_v1 unless another primary set is declared

# Datasets, the metric spec and all their checks: everything a model run stands on.
data_quality_job = dg.define_asset_job(
    name="data_quality_job",
    selection=dg.AssetSelection.assets(*dict.fromkeys(["golden_v1", PRIMARY, "training_traces", "evaluation_spec", *EXTRA_SETS])),
    description="Materialize golden-v1, the training traces and the evaluation spec, with their blocking checks.",
)

# The main job: data + lock -> base checkpoint -> predictions -> training -> evaluations -> comparison,
# then the better model into the registry (guarded by blocking checks in this same run) and the leaderboard.
base_vs_trained_job = dg.define_asset_job(
    name="base_vs_trained_job",
    # Every further declared eval set's comparison too (reported beside the primary set's; they do not gate promotion).
    # golden_v1 always: the blocking contamination check on the traces reads it (and every declared set), even when
    # another primary set feeds the chain.
    selection=(dg.AssetSelection.assets("base_vs_trained", "leaderboard")
               | dg.AssetSelection.assets(*[f"base_vs_trained__{s}" for s in EXTRA_SETS])).upstream() | dg.AssetSelection.assets("golden_v1"),
    description="Fine-tune the base model on the traces, prove (or disprove) that it got better on the primary eval set (golden-v1 by default), and register the better one.",
)

# Upstream of the promotion: tuning_sweep, evaluation_spec, golden_v1, training_traces, base_checkpoint, and one
# sweep_best_evaluation__<set> per further declared eval set (none by default).
# Their checks (evaluation_lock and the dataset checks, all blocking) run before the sweep.
sweep_job = dg.define_asset_job(
    name="sweep_job",
    # The further eval sets and golden_v1 too: the blocking contamination check on the traces reads every one of them.
    selection=(dg.AssetSelection.assets("sweep_registered_model", "golden_v1") | dg.AssetSelection.assets(*EXTRA_SETS)).upstream(),
    description="Check the data and the evaluation lock, run the Ray Tune sweep, rank its trials on the primary eval set (golden-v1 by default), "
                "score the best on every further declared eval set, and promote it if it beats the champion.",
)

# The smallest real sweep (1-2 min on 2 cores), startable from the UI alone: the launchpad opens with this preset.
# The settings of the CI smoke sweep (tunix_rt_pipelines_tests/sweep/conftest.py): the whole 2-point grid of a
# choice space, builtin-sized training, 6 golden items per trial.
SWEEP_SMOKE_RUN_CONFIG = {"ops": {"tuning_sweep": {"config": {
    "num_samples": 2,
    "search_space": {"learning_rate": {"type": "choice", "values": [0.001, 0.003]}},
    "training": {"max_steps": 3, "batch_size": 8, "max_train_samples": 32, "warmup_steps": 0, "save_steps": 100, "logging_steps": 1},
    "inference": {"max_items": 6, "max_new_tokens": 12, "batch_size": 6},
}}}}

sweep_smoke_job = dg.define_asset_job(
    name="sweep_smoke_job",
    selection=(dg.AssetSelection.assets("sweep_registered_model", "golden_v1") | dg.AssetSelection.assets(*EXTRA_SETS)).upstream(),
    config=SWEEP_SMOKE_RUN_CONFIG,
    description="sweep_job on a preset that finishes in 1-2 minutes on 2 CPU cores (the sweep step 31-61 s with builtin:tiny, "
                "the whole run 95 s on a busy box): "
                "2 trials, learning_rate 0.001 and 0.003, 3 training steps each, scored on 6 golden-v1 items. The launchpad "
                "opens with the preset filled in: press Launch Run (an empty editor runs it too; what you type overrides it "
                "key by key). For a real sweep use sweep_job "
                "(docs/tuning.md). Its best trial competes with the champion like any sweep's.",
)

# Never retrains: checkpoints are read as they were last materialized (their pointers).
evaluation_refresh_job = dg.define_asset_job(
    name="evaluation_refresh_job",
    # Every declared eval set: the primary's chain and each further set's (predictions, evaluations, comparison).
    selection=dg.AssetSelection.assets(*dict.fromkeys([PRIMARY, "evaluation_spec", "base_predictions", "trained_predictions",
                                                       "base_evaluation", "trained_evaluation", "base_vs_trained",
                                                       *(f"{a}{s}" for s in EXTRA_SETS for a in (
                                                           "", "base_predictions__", "trained_predictions__", "base_evaluation__",
                                                           "trained_evaluation__", "base_vs_trained__"))])),
    description="Re-predict and re-score every declared eval set with the current evaluator, behind the data checks and the evaluation lock.",
)

# The LLM judge beside answer_correctness: its lock, its calibration (a blocking gate), then its verdicts on
# the predictions last materialized. Never retrains or re-predicts; answer_correctness stays the primary judge.
llm_judge_job = dg.define_asset_job(
    name="llm_judge_job",
    # The primary set's asset: the judgements join its items with the predictions (golden_v1 by default).
    selection=dg.AssetSelection.assets(*dict.fromkeys([PRIMARY, "golden_v1_calibration", "llm_judge_spec", "llm_judge_calibration",
                                                       "base_llm_judgement", "trained_llm_judgement"])),
    description="Check the LLM judge's lock, calibrate it on golden-v1-calibration, and only if it passes, judge the base and trained predictions.",
)
