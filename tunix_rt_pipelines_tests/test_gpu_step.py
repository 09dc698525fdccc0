"""A GPU step as one plain call (lib/gpu_step.py): only the library's step functions are called by name,
a call is a JSON round trip, and a remote step's outcome file gives back its result, its one-line
error (retryable or not), or says that the step died before recording one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.datasets.refs import DatasetRef
from tunix_rt_pipelines.lib.evaluation.predictions import PREDICTIONS_FILE
from tunix_rt_pipelines.lib.gpu_step import GpuStep, StepError, call_step, read_outcome, resolve_function, result_path, write_outcome
from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
from tunix_rt_pipelines.lib.inference.step import prediction_request, predictions_result
from tunix_rt_pipelines.lib.models.loading import folder_sha256
from tunix_rt_pipelines.lib.pointer import Pointer
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS


@pytest.mark.parametrize(
    "name",
    [
        "os:system",  # outside the project: never called by name
        "tunix_rt_pipelines.cli.main:main",  # the project, but not its library
        "tunix_rt_pipelines.lib.training.step",  # no function named
        "tunix_rt_pipelines.lib.training.step:no_such_step",  # a library module without that function
        "tunix_rt_pipelines.lib.no_such_module:step",  # a module that does not exist (another version on the other side)
    ],
)
def test_only_the_library_s_step_functions_are_called_by_name(name):
    with pytest.raises(StepError) as raised:
        resolve_function(name)
    assert name in str(raised.value) and not raised.value.retryable


def prediction_step_on_golden(root: Path, tiny_model_dir: Path, dataset_folder: str) -> GpuStep:
    """A 3-item golden-v1 prediction step with builtin:tiny; golden-v1 copied to `root/datasets/golden-v1` (also used by remote/)."""
    shutil.copytree(REAL_DATASETS / "golden-v1", root / "datasets" / "golden-v1")
    data = read_dataset(root / "datasets" / "golden-v1")
    return prediction_request(Pointer(path=str(tiny_model_dir), sha256=folder_sha256(tiny_model_dir)), "builtin:tiny",
                              DatasetRef.of("golden-v1", data), Pointer(path=dataset_folder, sha256=data.sha256),
                              GenerationSettings(max_items=3, max_new_tokens=4, batch_size=3, device="cpu"))


def test_a_step_call_takes_pointers_and_returns_json_under_the_artifact_root(tmp_path, tiny_model_dir):
    """In process, a step sees and returns what a remote call would: JSON, paths relative to the root it was given."""
    lines = []
    payload = call_step(prediction_step_on_golden(tmp_path, tiny_model_dir, "datasets/golden-v1"), tmp_path, lines.append)
    result = predictions_result(payload, tmp_path)
    assert not Path(payload["path"]).is_absolute() and result.path.parent == tmp_path / "predictions"
    assert result.n == 3 and (result.path / PREDICTIONS_FILE).is_file()
    assert lines == ["predicting 3 golden-v1 items with builtin:tiny"]


def test_a_step_refuses_bad_input_with_its_one_line_error(tmp_path, tiny_model_dir):
    with pytest.raises(StepError, match="no such dataset folder") as raised:
        call_step(prediction_step_on_golden(tmp_path, tiny_model_dir, "datasets/none"), tmp_path, lambda line: None)
    assert not raised.value.retryable and not (tmp_path / "predictions").exists()


def test_the_outcome_file_carries_the_result_or_the_error(tmp_path):
    path = result_path(tmp_path, "run-1", "trained_checkpoint")
    assert path == tmp_path / "steps" / "run-1" / "trained_checkpoint.json"
    write_outcome(path, result={"steps": 3, "model_dir": "training/abc/model"})
    assert read_outcome(path) == {"steps": 3, "model_dir": "training/abc/model"}

    write_outcome(path, error=StepError("traces: line 4: field 'answer' is missing"))
    with pytest.raises(StepError, match="line 4") as raised:
        read_outcome(path)
    assert not raised.value.retryable

    write_outcome(path, error=StepError("a Ray Train worker died", retryable=True))
    with pytest.raises(StepError) as raised:
        read_outcome(path)
    assert raised.value.retryable


def test_a_step_that_recorded_nothing_died_and_may_be_retried(tmp_path):
    with pytest.raises(StepError, match="recorded no outcome") as raised:
        read_outcome(result_path(tmp_path, "run-1", "base_predictions"))
    assert raised.value.retryable
