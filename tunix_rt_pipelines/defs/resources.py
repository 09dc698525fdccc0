"""The one place resource keys are bound, per environment (see `environment.get_environment`)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from tunix_rt_pipelines.environment import get_environment
from tunix_rt_pipelines.resources.gpu_steps import gpu_steps_from_environment
from tunix_rt_pipelines.resources.llm_judge import LlmJudgeResource
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.model_registry import SqlModelRegistry
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


def build_resources() -> dict[str, Any]:
    env = get_environment()
    # ray: a local Ray per sweep run; set its address (or SweepConfig.ray_address) for a cluster.
    # llm_judge: builtin:tiny run locally by default (the pinned judge, refused by its calibration: an honest
    # 1M-parameter judge); point it at a stronger model or an endpoint, then bump and pin its version.
    # gpu_steps: the gpu pool's work in the step's process, or as Ray jobs on $TUNIX_RT_RAY_JOBS_ADDRESS's cluster.
    common = {"storage": ProjectStorage(), "base_model": BaseModelResource(), "ray": RayResource(), "llm_judge": LlmJudgeResource(),
              "gpu_steps": gpu_steps_from_environment()}
    resources_by_env: dict[str, dict[str, Any]] = {
        # SQLite in the project home, or PostgreSQL whenever $TUNIX_RT_REGISTRY_URL is set.
        "local": {**common, "model_registry": SqlModelRegistry()},
        "ci": {**common, "model_registry": SqlModelRegistry()},
        # PostgreSQL from $TUNIX_RT_REGISTRY_URL (required); schema upgrades are a deliberate
        # `tunix-rt registry migrate`, never a side effect of a run.
        "prod": {**common, "model_registry": SqlModelRegistry(auto_migrate=False)},
    }
    return resources_by_env[env]


# Picked up by the folder load in `definitions.py`: the resource keys every asset, check and sensor asks for.
resources = dg.Definitions(resources=build_resources())
