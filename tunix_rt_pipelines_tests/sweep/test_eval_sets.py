"""The sweep's best trial on a further eval set (lib/sweep/eval_sets.py, defs/sweep/eval_sets.py).

Contract: the best trial is predicted with the generation settings its trials recorded and on the
trials' device (never "auto"); predictions and evaluation land under the sweep's folder, keyed by
content (a rerun rewrites the same folders with the same bytes, another setting gets a folder of
its own); the evaluation scores the very checkpoint it was given, on the whole set; a GPU sweep's
best trial is not quietly evaluated on a CPU; and the asset refuses an evaluation spec the sweep
was not scored under.
"""

import json
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.defs.sweep.config import SweepConfig
from tunix_rt_pipelines.lib.datasets.refs import DatasetRef, load_rows
from tunix_rt_pipelines.lib.evaluation.lock import spec_sha256
from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.lib.models.loading import folder_sha256
from tunix_rt_pipelines.lib.sweep.eval_sets import EVAL_SETS_DIR, best_on_eval_set, trial_generation
from tunix_rt_pipelines.resources.gpu_steps import InProcessGpuSteps
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.registry.factories import make_eval_set
from tunix_rt_pipelines_tests.sweep.conftest import SMOKE_INFERENCE

KEY = "my-evals-v1"


def recorded(gpus: float = 0.0, device: str = "auto", **inference) -> dict:
    """The config block sweep_results.json records (SweepConfig.model_dump(), as JSON); `device`: the inference block's,
    as a driver with that card would have recorded it (set after validation: this host need not have it)."""
    config = json.loads(SweepConfig(inference={**SMOKE_INFERENCE, **inference}, gpus_per_trial=gpus).model_dump_json())
    return {**config, "inference": {**config["inference"], "device": device}}


@pytest.mark.parametrize(
    ("config", "device"),
    [
        (recorded(), "cpu"),                          # a CPU sweep: its trials predicted on the CPU
        (recorded(gpus=1.0), "cuda"),                 # a GPU sweep: on the card Ray gave each trial
        (recorded(gpus=0.5), "cuda"),                 # a shared card is still a card
        (recorded(device="cuda:0"), "cpu"),           # the inference block's own device is overridden by the reservation, as in a trial
    ],
)
def test_the_trials_generation_settings_and_device(config, device):
    settings = trial_generation(config)
    assert settings.device == device
    assert (settings.max_items, settings.max_new_tokens, settings.batch_size) == (6, 12, 6)  # the recorded values, not the defaults


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "no usable inference settings"),                                        # a record without a config block
        ({"inference": {"max_new_tokens": 8}}, "no usable inference settings"),      # no gpus_per_trial: the device is unknown
        ({"inference": {"max_new_tokens": 0}, "gpus_per_trial": 0}, "greater than or equal to 1"),  # a setting out of range
        ({"inference": {"beam_width": 4}, "gpus_per_trial": 0}, "beam_width"),       # a field this version does not know
    ],
)
def test_an_unusable_record_is_refused(config, message):
    with pytest.raises(ValueError, match=message):
        trial_generation(config)


@pytest.fixture
def eval_set(tmp_path) -> tuple[DatasetRef, list]:
    _, sha = make_eval_set(tmp_path / "datasets", KEY, count=24)
    ref = DatasetRef(key=KEY, kind="eval", sha256=sha, count=24)
    return ref, load_rows(tmp_path / "datasets" / KEY, ref)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_best_trial_is_predicted_and_scored_under_the_sweep_folder(tmp_path, tiny_model_dir, eval_set):
    dataset, items = eval_set
    sweep_dir, sha = tmp_path / "tuning" / "s1", folder_sha256(tiny_model_dir)
    settings = trial_generation(recorded())
    predictions, evaluation = best_on_eval_set(tiny_model_dir, sha, items, dataset, settings, spec_sha256(), sweep_dir, "tuning_sweep/s1/t0")
    payload = json.loads(evaluation.path.read_text())
    assert evaluation.path.is_relative_to(sweep_dir / EVAL_SETS_DIR) and predictions.path.is_relative_to(sweep_dir / EVAL_SETS_DIR)
    assert (payload["model_sha256"], payload["dataset_key"], payload["dataset_sha256"]) == (sha, KEY, dataset.sha256)
    assert payload["n"] == 24 and len(payload["items"]) == 24  # the whole set is scored; items not predicted count as wrong
    assert payload["evaluator"] == "answer_correctness@v1" and payload["spec_sha256"] == spec_sha256()
    meta = json.loads((predictions.path / "predictions_meta.json").read_text())
    assert meta["device"] == "cpu" and meta["n"] == 6 and meta["generation"]["max_new_tokens"] == 12  # the trials' settings
    files, first = sorted(_tree(sweep_dir)), (evaluation.path.read_bytes(), (predictions.path / "predictions.jsonl").read_bytes())

    # The same inputs again: the same folders, the same predictions and evaluation byte for byte, nothing else written.
    again, rescored = best_on_eval_set(tiny_model_dir, sha, items, dataset, settings, spec_sha256(), sweep_dir, "tuning_sweep/s1/t0")
    assert (again.path, rescored.path) == (predictions.path, evaluation.path) and sorted(_tree(sweep_dir)) == files
    assert (evaluation.path.read_bytes(), (predictions.path / "predictions.jsonl").read_bytes()) == first
    # Another setting: folders of its own; the first ones are left as they were.
    other, _ = best_on_eval_set(tiny_model_dir, sha, items, dataset, trial_generation(recorded(max_new_tokens=4)), spec_sha256(), sweep_dir)
    assert other.path != predictions.path and evaluation.path.read_bytes() == first[0]


def test_a_gpu_sweep_is_not_evaluated_on_a_cpu(tmp_path, tiny_model_dir, eval_set):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this host has a CUDA device")
    dataset, items = eval_set
    with pytest.raises(ValueError, match=r"the sweep's trials predicted on cuda, so its best trial is evaluated there too: .*needs a CUDA GPU"):
        best_on_eval_set(tiny_model_dir, folder_sha256(tiny_model_dir), items, dataset, trial_generation(recorded(gpus=1.0)), spec_sha256(),
                         tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()


def materialize_best_evaluation(tmp_path: Path, model_dir: Path, instance, dataset: DatasetRef, sweep_spec: str):
    """sweep_best_evaluation__my_evals_v1, its upstream stubbed with what tuning_sweep, evaluation_spec and the set record."""
    from tunix_rt_pipelines.defs.sweep.eval_sets import sweep_best_evaluation

    storage = ProjectStorage(artifacts_dir=str(tmp_path / "artifacts"))
    results = storage.artifacts_path("tuning", "s1", "sweep_results.json")
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps({"inputs": {"spec_sha256": sweep_spec}, "config": recorded()}))

    @dg.asset(name="tuning_sweep")
    def stub_sweep() -> dg.MaterializeResult:
        checkpoint = storage.pointer(model_dir, folder_sha256(model_dir))
        return dg.MaterializeResult(metadata={"sweep_id": "s1", "best_trial": "t_00000", "best_checkpoint": dg.MetadataValue.json(checkpoint.model_dump()),
                                              **storage.pointer_metadata(results, sha256_file(results))})

    @dg.asset(name="evaluation_spec")
    def stub_spec() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"sha256": spec_sha256()})

    @dg.asset(name="my_evals_v1")
    def stub_set() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"dataset_key": KEY, "dataset_kind": "eval", "sha256": dataset.sha256, "dagster/row_count": 24,
                                              **storage.pointer_metadata(tmp_path / "datasets" / KEY, dataset.sha256)})

    result = dg.materialize([stub_sweep, stub_spec, stub_set, sweep_best_evaluation(KEY)], instance=instance, raise_on_error=False,
                            resources={"storage": storage, "gpu_steps": InProcessGpuSteps()})
    return result, storage


def test_the_asset_points_at_the_evaluation_of_the_best_checkpoint(tmp_path, tiny_model_dir, instance, eval_set):
    result, storage = materialize_best_evaluation(tmp_path, tiny_model_dir, instance, eval_set[0], spec_sha256())
    assert result.success
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("sweep_best_evaluation__my_evals_v1")[0].metadata.items()}
    evaluation = storage.artifacts_root() / metadata["artifact_path"]  # a pointer, relative to the artifact root
    assert evaluation.is_relative_to(storage.artifacts_path("tuning", "s1", EVAL_SETS_DIR)) and sha256_file(evaluation) == metadata["artifact_sha256"]
    payload = json.loads(evaluation.read_text())
    assert payload["model_sha256"] == folder_sha256(tiny_model_dir) == metadata["model_sha256"]
    assert (payload["dataset_key"], payload["n"], metadata["n"], metadata["score"]) == (KEY, 24, 24, round(payload["score"], 4))


def test_the_asset_refuses_a_spec_the_sweep_was_not_scored_under(tmp_path, tiny_model_dir, instance, eval_set):
    result, storage = materialize_best_evaluation(tmp_path, tiny_model_dir, instance, eval_set[0], "0" * 64)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
    assert f"sweep s1 was scored under spec 000000000000, the evaluation spec is now {spec_sha256()[:12]}: re-run tuning_sweep first\n" in failure
    assert not storage.artifacts_path("tuning", "s1", EVAL_SETS_DIR).exists()
