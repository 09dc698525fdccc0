"""The Ray job's entry point (`python -m tunix_rt_pipelines.remote.gpu_step`) under a real Dagster Pipes
session, without Ray: it takes the step from the Pipes extras, sends its log lines back through Pipes,
and leaves its outcome under the artifact root: the JSON result, or the one-line error and exit 1."""

import sys

import dagster as dg
import pytest

from tunix_rt_pipelines.lib.gpu_step import StepError, read_outcome
from tunix_rt_pipelines.resources.gpu_steps import ENTRYPOINT_MODULE
from tunix_rt_pipelines_tests.test_gpu_step import prediction_step_on_golden


def _run_entry(root, extras) -> tuple[bool, list[str]]:
    """Whether the step succeeded, and the messages of its run's log."""

    @dg.asset
    def remote_step(context: dg.AssetExecutionContext, pipes: dg.PipesSubprocessClient):
        return pipes.run(command=[sys.executable, "-m", ENTRYPOINT_MODULE], context=context, extras=extras).get_materialize_result()

    with dg.instance_for_test() as instance:
        result = dg.materialize([remote_step], resources={"pipes": dg.PipesSubprocessClient(cwd=str(root))}, instance=instance,
                                raise_on_error=False)
        return result.success, [entry.user_message for entry in instance.all_logs(result.run_id)]


def _extras(root, tiny_model_dir, dataset_folder: str) -> dict:
    """What RayJobGpuSteps puts in the Pipes extras, for a 3-item prediction step (the library test's own step)."""
    step = prediction_step_on_golden(root, tiny_model_dir, dataset_folder)
    return {"function": step.function, "request": dict(step.request), "artifacts_root": str(root),
            "result": "steps/run/base_predictions.json", "uses_ray": step.uses_ray}


def test_the_entry_point_runs_the_step_and_records_its_result(tmp_path, tiny_model_dir):
    success, messages = _run_entry(tmp_path, _extras(tmp_path, tiny_model_dir, "datasets/golden-v1"))
    assert success
    outcome = read_outcome(tmp_path / "steps" / "run" / "base_predictions.json")
    assert outcome["n"] == 3 and (tmp_path / outcome["path"] / "predictions.jsonl").is_file()
    assert "predicting 3 golden-v1 items with builtin:tiny" in messages  # the step's own line, through Pipes


def test_the_entry_point_records_the_one_line_error_and_exits_1(tmp_path, tiny_model_dir):
    success, messages = _run_entry(tmp_path, _extras(tmp_path, tiny_model_dir, "datasets/none"))
    assert not success  # the process exited 1
    assert any("no such dataset folder" in m for m in messages)  # logged through Pipes too
    with pytest.raises(StepError, match="no such dataset folder") as raised:
        read_outcome(tmp_path / "steps" / "run" / "base_predictions.json")
    assert not raised.value.retryable and not (tmp_path / "predictions").exists()
