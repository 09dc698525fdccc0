"""The sweep's place in the code location: loads without importing Ray or torch, validates, and
tuning_sweep sits in the gpu pool and the sweep group with its Ray resource bound."""

import subprocess
import sys

import dagster as dg

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.resources.ray_cluster import RayResource


def test_definitions_load_without_heavy_imports():
    code = ("import sys, dagster as dg; from tunix_rt_pipelines.definitions import defs; dg.Definitions.validate_loadable(defs); "
            "heavy = [m for m in ('ray', 'torch', 'transformers') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tuning_sweep_asset_and_job():
    sweep = defs.resolve_assets_def("tuning_sweep")
    spec = next(iter(sweep.specs))
    assert spec.group_name == "sweep"
    assert sweep.op.pool == "gpu"
    assert {"ray", "storage"} <= sweep.required_resource_keys
    assert isinstance(defs.resources["ray"], RayResource)
    assert defs.resolve_job_def("sweep_job").executor_def is dg.in_process_executor
