"""Inference contract: batched greedy generation gives exactly the text of Hugging Face `generate`
one item at a time (fast path and fallback alike), is deterministic
(byte-identical predictions.jsonl twice), writes exactly the documented files atomically, and
writes nothing when the dataset is empty or the model cannot be loaded."""

import json
import shutil

import pytest

from tunix_rt_pipelines.defs.inference.config import InferenceConfig
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.inference.generate import generate_batched, reference_generate
from tunix_rt_pipelines.lib.inference.predict import META_FILE, PREDICTIONS_FILE, predict
from tunix_rt_pipelines.lib.models.loading import ModelLoadError, folder_sha256, load_model
from tunix_rt_pipelines.lib.models.prompt import format_prompt
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

GOLDEN = read_dataset(REAL_DATASETS / "golden-v1")
CONFIG = InferenceConfig(max_new_tokens=12, batch_size=8, max_items=12)


@pytest.fixture(scope="module")
def trained_tiny(tmp_path_factory, tiny_model_dir):
    """builtin:tiny after a short fine-tune: it emits EOS at different steps, which exercises
    dropping finished rows (a random-init model never stops early)."""
    from tunix_rt_pipelines.defs.training.config import TrainingConfig
    from tunix_rt_pipelines.lib.training.train import train

    traces = read_dataset(REAL_DATASETS / "reasoning-traces-v1").rows[:512]
    config = TrainingConfig(max_steps=60, batch_size=16, warmup_steps=5, save_steps=1000, logging_steps=10, num_threads=2)
    return train(tiny_model_dir, traces, config, tmp_path_factory.mktemp("trained") / "run", builtin_base=True).model_dir


@pytest.mark.parametrize(
    ("fixture", "batch_size", "max_new_tokens"),
    [
        ("tiny_model_dir", 16, 12),  # Llama, random init: every row runs to max_new_tokens
        ("tiny_gpt2_dir", 16, 12),  # absolute position embeddings: left padding must not shift them
        ("trained_tiny", 16, 48),  # rows finish at different steps and leave the batch
        ("trained_tiny", 5, 48),  # several batches, buckets of one or two prompts
    ],
)
def test_batched_generation_equals_hugging_face_generate_per_item(request, fixture, batch_size, max_new_tokens):
    model, tokenizer = load_model(request.getfixturevalue(fixture), device="cpu")
    prompts = [format_prompt(item.prompt) for item in GOLDEN.rows[::4]]  # 25 prompts of every family and length
    batched = generate_batched(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)
    reference = reference_generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens)
    assert batched.completions == reference.completions
    assert batched.new_tokens == reference.new_tokens
    if fixture == "trained_tiny":  # the case that matters: answers of different lengths, ending in EOS
        assert any("Answer:" in c for c in batched.completions)
        assert len({len(c) for c in batched.completions}) > 5


def test_fallback_path_gives_the_same_text(monkeypatch, trained_tiny):
    """Caches the fast path does not handle (sliding windows, recurrent layers) go through generate()."""
    from tunix_rt_pipelines.lib.inference import generate

    model, tokenizer = load_model(trained_tiny, device="cpu")
    prompts = [format_prompt(item.prompt) for item in GOLDEN.rows[::7]]
    fast = generate_batched(model, tokenizer, prompts, max_new_tokens=48, batch_size=8)
    monkeypatch.setattr(generate, "_is_plain_dynamic_cache", lambda cache: False)
    slow = generate_batched(model, tokenizer, prompts, max_new_tokens=48, batch_size=8)
    assert slow.completions == fast.completions


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
