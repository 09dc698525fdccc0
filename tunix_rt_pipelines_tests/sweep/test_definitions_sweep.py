"""The sweep's place in the code location: tuning_sweep sits in the gpu pool and the sweep group
with its Ray resource bound, in-process (heavy imports: test_definitions.py)."""

import dagster as dg

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.resources.ray_cluster import RayResource


def test_tuning_sweep_asset_and_job():
    sweep = defs.resolve_assets_def("tuning_sweep")
    spec = next(iter(sweep.specs))
    assert spec.group_name == "sweep"
    assert sweep.op.pool == "gpu"
    assert {"ray", "storage"} <= sweep.required_resource_keys
    assert isinstance(defs.resources["ray"], RayResource)
    assert defs.resolve_job_def("sweep_job").executor_def is dg.in_process_executor
