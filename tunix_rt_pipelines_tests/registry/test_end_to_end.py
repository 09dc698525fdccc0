"""Contract (slow, opt-in with -m slow): the real main job, on the real upstream assets (builtin:tiny,
a few training steps, a few golden items), registers the better model under its guards, ranks it,
and a second run of the same job registers nothing new."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

INFERENCE = {"max_items": 8, "max_new_tokens": 16, "batch_size": 8, "device": "cpu"}
RUN_CONFIG = {"ops": {
    "trained_checkpoint": {"config": {"max_steps": 4, "save_steps": 4, "logging_steps": 1, "batch_size": 8, "max_train_samples": 32,
                                      "warmup_steps": 0, "device": "cpu"}},
    "base_predictions": {"config": INFERENCE},
    "trained_predictions": {"config": INFERENCE},
}}


def test_the_main_job_registers_and_ranks_the_better_model(instance):
    from tunix_rt_pipelines.definitions import defs
    from tunix_rt_pipelines.defs.registry import checks
    from tunix_rt_pipelines.defs.registry.assets import BEATS_CHAMPION

    job = defs.resolve_job_def("base_vs_trained_job")
    first = job.execute_in_process(run_config=RUN_CONFIG, instance=instance)
    assert first.success
    evaluations = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
    assert all(evaluations[name] for name in ("evaluation_lock", checks.LOCK_CHECK, checks.GOLDEN_CHECK, checks.ARTIFACTS_CHECK, BEATS_CHAMPION))
    registered = first.asset_materializations_for_node("registered_model")[0].metadata
    assert (registered["model_name"].value, registered["version"].value, registered["created"].value) == ("tunix-rt-tiny", 1, True)
    assert first.asset_materializations_for_node("leaderboard")[0].metadata["dagster/row_count"].value == 1

    second = job.execute_in_process(run_config=RUN_CONFIG, instance=instance)  # deterministic: the same checkpoint
    assert second.success
    again = second.asset_materializations_for_node("registered_model")[0].metadata
    assert (again["version"].value, again["created"].value, again["sha256"].value) == (1, False, registered["sha256"].value)
