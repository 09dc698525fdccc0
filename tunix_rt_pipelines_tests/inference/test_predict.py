"""Inference contract: batched greedy generation equals the per-item loop, is deterministic
(byte-identical predictions.jsonl twice), writes exactly the documented files atomically, and
writes nothing when the dataset is empty or the model cannot be loaded."""

import json
import shutil

import pytest

from tunix_rt_pipelines.defs.datasets.jsonl import read_dataset
from tunix_rt_pipelines.defs.inference.config import InferenceConfig
from tunix_rt_pipelines.defs.inference.generate import generate_batched
from tunix_rt_pipelines.defs.inference.predict import META_FILE, PREDICTIONS_FILE, predict
from tunix_rt_pipelines.defs.models.loading import ModelLoadError, folder_sha256, load_model
from tunix_rt_pipelines.defs.models.prompt import format_prompt
from tunix_rt_pipelines_tests.conftest import REAL_DATASETS

GOLDEN = read_dataset(REAL_DATASETS / "golden-v1")
CONFIG = InferenceConfig(max_new_tokens=12, batch_size=8, max_items=12)


@pytest.mark.parametrize("fixture", ["tiny_model_dir", "tiny_gpt2_dir"])
def test_batched_generation_matches_the_per_item_loop(request, fixture):
    model, tokenizer = load_model(request.getfixturevalue(fixture), device="cpu")
    prompts = [format_prompt(item.prompt) for item in GOLDEN.rows[:10]]  # mixed lengths: padding matters
    batched = generate_batched(model, tokenizer, prompts, max_new_tokens=10, batch_size=10)
    single = generate_batched(model, tokenizer, prompts, max_new_tokens=10, batch_size=1)
    assert batched.completions == single.completions
    assert len(set(len(p) for p in prompts)) > 1


def test_predict_writes_documented_files_deterministically(tmp_path, tiny_model_dir):
    sha = folder_sha256(tiny_model_dir)
    first = predict(tiny_model_dir, sha, GOLDEN.rows, GOLDEN.sha256, CONFIG, tmp_path / "a", model_name="builtin:tiny")
    second = predict(tiny_model_dir, sha, GOLDEN.rows, GOLDEN.sha256, CONFIG, tmp_path / "b")
    a, b = tmp_path / "a", tmp_path / "b"
    assert sorted(p.name for p in a.iterdir()) == sorted([META_FILE, PREDICTIONS_FILE])
    assert (a / PREDICTIONS_FILE).read_bytes() == (b / PREDICTIONS_FILE).read_bytes()
    assert first.predictions_sha256 == second.predictions_sha256

    rows = [json.loads(line) for line in (a / PREDICTIONS_FILE).read_text().splitlines()]
    assert [r["id"] for r in rows] == [item.id for item in GOLDEN.rows[:12]]  # dataset order
    assert all(set(r) == {"id", "prediction"} for r in rows)
    meta = json.loads((a / META_FILE).read_text())
    assert meta["model_sha256"] == sha and meta["dataset_sha256"] == GOLDEN.sha256 and meta["model_name"] == "builtin:tiny"
    assert meta["generation"] == {"do_sample": False, "max_new_tokens": 12, "batch_size": 8, "seed": 0,
                                  "padding_side": "left", "max_items": 12}
    assert meta["device"] == "cpu" and meta["dtype"] == "float32"
    assert {"torch", "transformers", "python"} <= set(meta["versions"])
    assert meta["items_per_second"] > 0 and meta["wall_seconds"] > 0


def test_rerun_replaces_the_folder_atomically(tmp_path, tiny_model_dir):
    sha = folder_sha256(tiny_model_dir)
    out = tmp_path / "p"
    predict(tiny_model_dir, sha, GOLDEN.rows, GOLDEN.sha256, CONFIG, out)
    (out / "stale.txt").write_text("from an older run")
    predict(tiny_model_dir, sha, GOLDEN.rows, GOLDEN.sha256, CONFIG, out)
    assert sorted(p.name for p in out.iterdir()) == sorted([META_FILE, PREDICTIONS_FILE])
    assert [p.name for p in tmp_path.iterdir()] == ["p"]  # no temporary or old folders left


def test_empty_dataset_fails_and_writes_nothing(tmp_path, tiny_model_dir):
    with pytest.raises(ValueError, match="no items to predict"):
        predict(tiny_model_dir, "x", [], GOLDEN.sha256, CONFIG, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_unloadable_model_fails_and_writes_nothing(tmp_path, tiny_model_dir):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="safetensors"):
        predict(broken, "x", GOLDEN.rows, GOLDEN.sha256, CONFIG, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken"]
