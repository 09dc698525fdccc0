"""`import_ray()`: Ray with its `uv run` hook switched off, whoever imported it first.

Under `uv run`, Ray 2.60 ships the driver's working directory to every worker as a runtime env
(`RAY_ENABLE_UV_RUN_RUNTIME_ENV`, on by default), `.venv/` included: 6 GB copied into Ray's session folder per session on this project, and a
cluster connection would try to upload it. Our
workers already run the same interpreter with the package installed, so the hook is pure cost.
"""

from __future__ import annotations

import os

UV_HOOK_VARIABLE = "RAY_ENABLE_UV_RUN_RUNTIME_ENV"


def import_ray():
    """Import and return `ray` with the uv hook off (also when ray was imported before this call)."""
    os.environ.setdefault(UV_HOOK_VARIABLE, "0")
    import ray
    from ray._private import ray_constants

    # The flag is read once at import; ray.init reads the module attribute, so set it too
    # in case something imported ray before us. Ray's own parser, so "FALSE" means what it means to Ray.
    ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = ray_constants.env_bool(UV_HOOK_VARIABLE, True)
    return ray
