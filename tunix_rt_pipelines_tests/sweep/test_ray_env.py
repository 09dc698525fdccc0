"""`import_ray` contract: the uv hook is off unless the variable says otherwise, and an explicit
value is read with Ray's own rules ("true"/"1" in any case turn it on; anything else, "FALSE"
included, turns it off), so what we set is what Ray does."""

import pytest

from tunix_rt_pipelines.lib.ray_env import UV_HOOK_VARIABLE, import_ray
from tunix_rt_pipelines_tests.testing_utils import require_ray


@require_ray
@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        (None, False),     # unset: we switch the hook off
        ("0", False),
        ("FALSE", False),  # Ray lower-cases the value: not on
        ("False", False),
        ("", False),
        ("true", True),    # an explicit opt-in is honoured
        ("TRUE", True),
        ("1", True),
    ],
)
def test_uv_hook_flag_is_read_like_ray_reads_it(value, enabled, monkeypatch):
    from ray._private import ray_constants

    # import_ray writes the module attribute; put it back afterwards for the other tests.
    monkeypatch.setattr(ray_constants, "RAY_ENABLE_UV_RUN_RUNTIME_ENV", ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV)
    monkeypatch.setenv(UV_HOOK_VARIABLE, "" if value is None else value)  # records the original value for restoring
    if value is None:
        monkeypatch.delenv(UV_HOOK_VARIABLE)
    import_ray()
    assert ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV is enabled
    assert ray_constants.env_bool(UV_HOOK_VARIABLE, True) is enabled  # Ray's reading of the same variable agrees
