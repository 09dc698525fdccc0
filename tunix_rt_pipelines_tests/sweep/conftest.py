"""Sweep fixtures: dataset refs for the repository's datasets and smoke-sized trial settings
(a few training steps on builtin:tiny, a handful of golden items, CPU)."""

from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.contract import GOLDEN_KEY, TRACES_KEY
from tunix_rt_pipelines.lib.datasets.refs import DatasetRef, read_dataset_once
from tunix_rt_pipelines.lib.evaluation.lock import spec_sha256
from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
from tunix_rt_pipelines.lib.sweep.search_space import integer_keys
from tunix_rt_pipelines.lib.sweep.trainable import TrialInputs
from tunix_rt_pipelines.lib.training.settings import TrainSettings
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

# Seconds per trial on builtin:tiny, most of it importing torch in the Ray worker.
SMOKE_TRAINING = {"max_steps": 3, "batch_size": 8, "max_train_samples": 32, "warmup_steps": 0, "save_steps": 100, "logging_steps": 1}
SMOKE_INFERENCE = {"max_items": 6, "max_new_tokens": 12, "batch_size": 6}


@pytest.fixture(autouse=True)
def _private_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sweep_job promotes into the model registry: keep each test's registry (SQLite + file
    store, read from these variables at run time) in its own folder."""
    monkeypatch.setenv("TUNIX_RT_REGISTRY_URL", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("TUNIX_RT_REGISTRY_STORE", str(tmp_path / "registry"))


def dataset_ref(key: str) -> DatasetRef:
    return DatasetRef.of(key, read_dataset_once(REAL_DATASETS / key))


@pytest.fixture
def trial_inputs(tmp_path: Path, tiny_model_dir: Path) -> TrialInputs:
    return TrialInputs(base_dir=tiny_model_dir, traces=dataset_ref(TRACES_KEY), traces_dir=REAL_DATASETS / TRACES_KEY,
                       golden=dataset_ref(GOLDEN_KEY), golden_dir=REAL_DATASETS / GOLDEN_KEY, spec_sha256=spec_sha256(),
                       training=TrainSettings(**SMOKE_TRAINING), inference=GenerationSettings(**SMOKE_INFERENCE),
                       work_root=tmp_path / "trials", int_keys=integer_keys(TrainSettings.model_fields),
                       builtin_base=True)
