"""`sweep_job`: the tuning sweep with everything it stands on, so their blocking checks gate it in the same run."""

import dagster as dg

from tunix_rt_pipelines.defs.sweep.promotion import sweep_registered_model

# Upstream of the promotion = tuning_sweep, evaluation_spec, golden_v1, training_traces,
# base_checkpoint. Selecting them pulls
# in their checks (evaluation_lock and the dataset checks, all blocking), which run before the
# sweep and stop it when they fail. In-process like the main job: every step imports torch,
# and the sweep's trials run in Ray workers anyway.
sweep_job = dg.define_asset_job(
    name="sweep_job",
    selection=dg.AssetSelection.assets(sweep_registered_model).upstream(),
    description="Check the data and the evaluation lock, run the Ray Tune sweep, rank its trials on golden-v1 and promote the best if it beats the champion.",
    executor_def=dg.in_process_executor,
)
