"""The one place resource keys are bound, per environment (see `environment.get_environment`)."""

from __future__ import annotations

from typing import Any

from tunix_rt_pipelines.environment import get_environment
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.ray_cluster import RayResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


def build_resources() -> dict[str, Any]:
    env = get_environment()
    common = {"storage": ProjectStorage(), "base_model": BaseModelResource()}
    common["ray"] = RayResource()  # a local Ray per sweep run; set address to use a cluster
    resources_by_env: dict[str, dict[str, Any]] = {
        "local": common,
        "ci": common,
        "prod": common,
    }
    return resources_by_env[env]
