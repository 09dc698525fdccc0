"""Model loading contract: built-in models are deterministic and load through from_pretrained;
any causal LM architecture works; unusable folders fail with an actionable message before
anything is written; only safetensors, never remote code."""

import json
import re
import shutil
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.models.builtin import create_builtin
from tunix_rt_pipelines.lib.models.loading import ModelLoadError, describe_folder, folder_sha256, load_model
from tunix_rt_pipelines.lib.models.source import resolve_model_folder
from tunix_rt_pipelines.resources.model_loader import BaseModelResource


@pytest.mark.parametrize(
    ("fixture", "architecture"),
    [
        ("tiny_model_dir", "LlamaForCausalLM"),  # builtin:tiny
        ("tiny_gpt2_dir", "GPT2LMHeadModel"),  # a second architecture, absolute positions
    ],
)
def test_both_architectures_describe_and_load(request, fixture, architecture):
    folder = request.getfixturevalue(fixture)
    ref = describe_folder("m", folder)
    assert ref.architecture == architecture
    assert 500_000 < ref.parameters < 1_500_000
    assert ref.vocab_size == 100
    model, tokenizer = load_model(folder, device="cpu")
    assert type(model).__name__ == architecture
    assert tokenizer.padding_side == "left" and tokenizer.pad_token is not None
    assert sum(p.numel() for p in model.parameters()) == ref.parameters  # counted from safetensors headers


def test_builtin_is_deterministic_from_its_seed(tmp_path, tiny_model_dir):
    again = create_builtin("builtin:tiny", tmp_path / "again", seed=0)
    other = create_builtin("builtin:tiny", tmp_path / "other", seed=1)
    assert folder_sha256(again) == folder_sha256(tiny_model_dir)
    assert folder_sha256(other) != folder_sha256(tiny_model_dir)


def test_char_tokenizer_round_trips_every_dataset_character(tiny_model_dir):
    _, tokenizer = load_model(tiny_model_dir, device="cpu")
    text = "Question: Sort the letters of 'zyx'.\n7+8=15 carry 1\nAnswer: $1,000.5!"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and tokenizer.unk_token_id not in ids
    assert len(ids) == len(text) + 1  # one token per character, plus BOS
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def _copy_without(src: Path, dst: Path, *names: str) -> Path:
    shutil.copytree(src, dst)
    for name in names:
        (dst / name).unlink()
    return dst


@pytest.mark.parametrize(
    ("remove", "add", "message"),
    [
        (("model.safetensors",), None, "no *.safetensors weights"),
        (("tokenizer.json", "tokenizer_config.json"), None, "no tokenizer files"),
        (("config.json",), None, "no config.json"),
        (("model.safetensors",), "pytorch_model.bin", "only pickle weights"),  # a pickle is refused, not loaded
    ],
)
def test_unusable_folders_are_refused_with_the_fix(tmp_path, tiny_model_dir, remove, add, message):
    folder = _copy_without(tiny_model_dir, tmp_path / "broken", *remove)
    if add:
        (folder / add).write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(ModelLoadError, match=re.escape(message)) as info:
        load_model(folder, device="cpu")
    assert "save_pretrained" in str(info.value)  # says how to fix it


def test_missing_folder_and_uncached_hub_id_are_actionable(tmp_path):
    with pytest.raises(ModelLoadError, match="no such folder"):
        resolve_model_folder("./does/not/exist", tmp_path)
    # HF_HUB_OFFLINE=1 (conftest): an uncached hub id must not hang or trace back.
    with pytest.raises(ModelLoadError, match="huggingface-cli download tunix-rt/not-a-real-model"):
        resolve_model_folder("tunix-rt/not-a-real-model", tmp_path)
    with pytest.raises(ModelLoadError, match="known: builtin:tiny"):
        resolve_model_folder("builtin:huge", tmp_path)


def test_remote_code_is_never_trusted(tmp_path, tiny_model_dir):
    folder = tmp_path / "remote"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text("raise SystemExit('remote code ran')\n")
    model, _ = load_model(folder, device="cpu")  # the auto_map is ignored: the stock class loads
    assert type(model).__name__ == "LlamaForCausalLM"


def test_resource_prefers_field_then_env_then_builtin(monkeypatch, tmp_path, tiny_gpt2_dir):
    assert BaseModelResource().resolved_name() == "builtin:tiny"
    monkeypatch.setenv("TUNIX_RT_BASE_MODEL", str(tiny_gpt2_dir))
    assert BaseModelResource().resolved_name() == str(tiny_gpt2_dir)
    assert BaseModelResource(name_or_path="builtin:tiny-gpt2").resolved_name() == "builtin:tiny-gpt2"
    ref = BaseModelResource().checkpoint(tmp_path)  # a local folder: used in place, not copied
    assert ref.path == tiny_gpt2_dir and ref.architecture == "GPT2LMHeadModel"


def test_builtin_is_created_once_and_reused(tmp_path):
    first = BaseModelResource().checkpoint(tmp_path)
    mtime = (Path(first.path) / "model.safetensors").stat().st_mtime_ns
    second = BaseModelResource().checkpoint(tmp_path)
    assert second == first
    assert (Path(second.path) / "model.safetensors").stat().st_mtime_ns == mtime
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging leftovers
