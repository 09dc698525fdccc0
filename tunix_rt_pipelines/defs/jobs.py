"""Jobs that cut across concerns.

Both run in-process: every step of this graph loads torch/transformers, and the default
multiprocess executor would spawn a fresh interpreter (and re-import them, ~8 s) per step.
Steps that need the accelerator are in the `gpu` pool, so separate runs never share a card.
"""

from __future__ import annotations

import dagster as dg

from tunix_rt_pipelines.defs.datasets.assets import golden_v1, training_traces
from tunix_rt_pipelines.defs.evaluation.assets import base_vs_trained
from tunix_rt_pipelines.defs.evaluation.lock_check import evaluation_spec
from tunix_rt_pipelines.defs.registry.assets import leaderboard

# Datasets, the metric spec and all their checks: everything a model run stands on.
data_quality_job = dg.define_asset_job(
    name="data_quality_job",
    selection=dg.AssetSelection.assets(golden_v1, training_traces, evaluation_spec),
    description="Materialize golden-v1, the training traces and the evaluation spec, with their blocking checks.",
    executor_def=dg.in_process_executor,
)

# The main job: data + lock -> base checkpoint -> predictions -> training -> evaluations -> comparison,
# then the better model into the registry (guarded by blocking checks in this same run) and the leaderboard.
base_vs_trained_job = dg.define_asset_job(
    name="base_vs_trained_job",
    selection=dg.AssetSelection.assets(base_vs_trained, leaderboard).upstream(),
    description="Fine-tune the base model on the traces, prove (or disprove) that it got better on golden-v1, and register the better one.",
    executor_def=dg.in_process_executor,
)
