"""Fuzz of the base model a user points `TUNIX_RT_BASE_MODEL` at, through what `base_checkpoint` runs.

Contract, per case: resolving and verifying the model (`BaseModelResource.checkpoint`, then
`verify_model_folder`) either succeeds (the last rows: folders that are fine despite odd
extras) or raises one `ModelLoadError` whose one-line message names the folder or file; the
models folder gains nothing from a refused model; the user's folder is never modified.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.models.loading import ModelLoadError
from tunix_rt_pipelines.lib.models.verify import verify_model_folder
from tunix_rt_pipelines.resources.model_loader import BaseModelResource


def _write(name: str, data: bytes | str):
    def make(folder: Path) -> None:
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return make


def _remove(*names: str):
    def make(folder: Path) -> None:
        for n in names:
            (folder / n).unlink()
    return make


def _config(**changes):
    def make(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, **changes}))
    return make


def _empty(folder: Path) -> None:
    for p in folder.iterdir():
        p.unlink()


# (case id, how the copy of builtin:tiny is broken, words the message must contain)
BROKEN = [
    ("empty-folder", _empty, "no config.json"),
    ("config-garbage", _write("config.json", "{not json"), "config.json: not valid JSON"),
    ("config-binary", _write("config.json", b"\xff\xfe\x00"), "config.json: not valid JSON"),
    ("config-list", _write("config.json", "[1, 2]"), "holds a list"),
    ("config-empty-object", _write("config.json", "{}"), "does not describe a causal LM"),
    ("config-unknown-type", _config(model_type="nonesuch"), "does not describe a causal LM"),
    ("config-not-causal", _config(model_type="bert", architectures=["BertModel"]), "do not belong together"),
    ("config-wrong-width", _config(intermediate_size=100), "do not have the shape config.json declares"),
    ("config-wrong-vocab", _config(vocab_size=10), "do not have the shape config.json declares"),
    ("weights-missing", _remove("model.safetensors"), "no *.safetensors weights"),
    ("weights-pickle-only", lambda f: (_remove("model.safetensors")(f), _write("pytorch_model.bin", b"\x80\x04x")(f)), "only pickle weights"),
    ("weights-truncated", lambda f: _write("model.safetensors", (f / "model.safetensors").read_bytes()[:-10])(f), "truncated"),
    ("weights-header-only", lambda f: _write("model.safetensors", (f / "model.safetensors").read_bytes()[:200])(f), "model.safetensors"),
    ("weights-garbage", _write("model.safetensors", b"garbage" * 10), "not a safetensors file"),
    ("weights-empty", _write("model.safetensors", b""), "not a safetensors file"),
    ("weights-padded", lambda f: _write("model.safetensors", (f / "model.safetensors").read_bytes() + b"\x00" * 8)(f), "longer than its header"),
    ("tokenizer-missing", _remove("tokenizer.json", "tokenizer_config.json"), "no tokenizer files"),
    ("tokenizer-garbage", _write("tokenizer.json", "{not json"), "the tokenizer cannot be loaded"),
    ("tokenizer-wrong-model", _write("tokenizer.json", '{"model": {"type": "Nope"}}'), "the tokenizer cannot be loaded"),
]


@pytest.mark.parametrize("breaks, words", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_broken_model_folder_is_refused_in_one_line(breaks, words, tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "my-model"
    shutil.copytree(tiny_model_dir, folder)
    breaks(folder)
    before = sorted((p.name, p.read_bytes()) for p in folder.iterdir())
    models = tmp_path / "models"
    with pytest.raises(ModelLoadError) as info:
        verify_model_folder(BaseModelResource(name_or_path=str(folder)).checkpoint(models).path)
    message = str(info.value)
    assert words in message and "\n" not in message and str(folder) in message, message
    assert sorted((p.name, p.read_bytes()) for p in folder.iterdir()) == before
    assert not models.exists() or not any(models.iterdir())


@pytest.mark.parametrize("name, words", [
    ("builtin:huge", "known: builtin:tiny"),
    ("tunix-rt/not-a-real-model", "huggingface-cli download"),  # HF_HUB_OFFLINE=1 in tests: never hangs on the network
    ("./no/such/folder", "no such folder"),
    ("/dev/null", "not a folder"),
    ("", None),  # empty: the default built-in, which must work
])
def test_unusable_names_are_refused_in_one_line(name: str, words: str | None, tmp_path: Path) -> None:
    resource = BaseModelResource(name_or_path=name)
    if words is None:
        assert verify_model_folder(resource.checkpoint(tmp_path / "models").path) == []
        return
    with pytest.raises(ModelLoadError, match=words) as info:
        resource.checkpoint(tmp_path / "models")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("extra, note", [
    (_write("pytorch_model.bin", b"\x80\x04x"), ["pytorch_model.bin ignored: pickle weights are never loaded, the safetensors weights are used"]),
    (_write("README.md", "# my model"), []),
    (_config(auto_map={"AutoModelForCausalLM": "evil.EvilModel"}), []),  # remote code is never run: the stock class is built
])
def test_odd_but_usable_folders_pass(extra, note, tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "my-model"
    shutil.copytree(tiny_model_dir, folder)
    extra(folder)
    (folder / "evil.py").write_text("raise SystemExit('remote code ran')\n")
    assert verify_model_folder(BaseModelResource(name_or_path=str(folder)).checkpoint(tmp_path / "models").path) == note
