"""The tunix-rt code location: datasets, evaluation lock, model loop, registry and sweeps."""

from __future__ import annotations

import dagster as dg

from tunix_rt_pipelines.defs import jobs, schedules
from tunix_rt_pipelines.defs.datasets import assets as dataset_assets
from tunix_rt_pipelines.defs.datasets import checks as dataset_checks
from tunix_rt_pipelines.defs.evaluation import assets as evaluation_assets
from tunix_rt_pipelines.defs.evaluation import lock_check as spec_asset
from tunix_rt_pipelines.defs.evaluation import sensors as evaluation_sensors
from tunix_rt_pipelines.defs.inference import assets as inference_assets
from tunix_rt_pipelines.defs.models import assets as model_assets
from tunix_rt_pipelines.defs.registry import assets as registry_assets
from tunix_rt_pipelines.defs.registry import checks as registry_checks
from tunix_rt_pipelines.defs.resources import build_resources
from tunix_rt_pipelines.defs.sweep import assets as sweep_assets
from tunix_rt_pipelines.defs.sweep import jobs as sweep_jobs
from tunix_rt_pipelines.defs.sweep import promotion as sweep_promotion
from tunix_rt_pipelines.defs.sweep import sensors as sweep_sensors
from tunix_rt_pipelines.defs.training import assets as training_assets

ASSET_MODULES = [dataset_assets, spec_asset, model_assets, inference_assets, training_assets, evaluation_assets,
                 registry_assets, sweep_assets, sweep_promotion]

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(ASSET_MODULES),
    asset_checks=dg.load_asset_checks_from_modules([dataset_checks, spec_asset, registry_checks]),
    jobs=[jobs.data_quality_job, jobs.base_vs_trained_job, sweep_jobs.sweep_job, evaluation_sensors.evaluation_refresh_job],
    # Automation: everything starts STOPPED and is switched on in the UI (docs/tuning.md).
    sensors=[sweep_sensors.sweep_on_new_training_inputs, evaluation_sensors.reevaluate_on_golden_or_evaluator_change],
    schedules=[schedules.nightly_base_vs_trained],
    resources=build_resources(),
)
