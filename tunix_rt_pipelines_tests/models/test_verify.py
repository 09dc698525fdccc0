"""`verify_model_folder`: `base_checkpoint` reads the whole model folder, so no downstream step starts on a broken model.

Contract: every broken folder below is refused with a `ModelLoadError` whose one-line message
names the file or folder and what to do; a sound folder passes, and one holding a pickle beside
its safetensors passes with a note that the pickle was ignored. Through the asset, the refusal
is the step's `dg.Failure` description (what `tunix-rt run` prints).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.defs.models.assets import base_checkpoint
from tunix_rt_pipelines.lib.models.loading import ModelLoadError
from tunix_rt_pipelines.lib.models.verify import verify_model_folder
from tunix_rt_pipelines.resources.model_loader import BaseModelResource
from tunix_rt_pipelines.resources.storage import ProjectStorage


def _truncate(folder: Path) -> None:
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-1000])


def _garbage_weights(folder: Path) -> None:
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)


def _json_header_garbage(folder: Path) -> None:
    (folder / "model.safetensors").write_bytes((20).to_bytes(8, "little") + b"this is not json!!!!" + b"\x00" * 16)


def _edit_config(**changes):
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config))
    return edit


def _garbage_tokenizer(folder: Path) -> None:
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "NoSuchModel"}}')


def _remote_tokenizer(folder: Path) -> None:
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.update({"auto_map": {"AutoTokenizer": ["evil.EvilTokenizer", None]}, "tokenizer_class": "EvilTokenizer"})
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "tokenizer.json").unlink()
    (folder / "evil.py").write_text("raise SystemExit('remote code ran')\n")


def _renamed_tensors(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    save_file({f"other.{k}": v for k, v in tensors.items()}, folder / "model.safetensors")


@pytest.mark.parametrize("breaks, message", [
    (_truncate, r"model\.safetensors: truncated \(\d+ bytes, the header describes \d+\)"),
    (_garbage_weights, r"model\.safetensors: not a safetensors file"),
    (_json_header_garbage, r"model\.safetensors: not a safetensors file \(its header is not JSON\)"),
    (_edit_config(intermediate_size=256), r"stored tensor\(s\) do not have the shape config.json declares"),
    (_edit_config(vocab_size=7), r"do not have the shape config.json declares: model.embed_tokens.weight"),
    (_edit_config(model_type="no-such-family"), r"config.json: does not describe a causal LM"),
    (_renamed_tensors, r"none of the \d+ stored tensors is a parameter"),
    (_garbage_tokenizer, r"the tokenizer cannot be loaded .*tokenizer.save_pretrained"),
    (_remote_tokenizer, r"the tokenizer cannot be loaded \(remote code is never run\)"),
])
def test_broken_folders_are_refused_at_base_checkpoint(tmp_path, tiny_model_dir, breaks, message):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    breaks(folder)
    with pytest.raises(ModelLoadError, match=message) as info:
        verify_model_folder(folder)
    assert "\n" not in str(info.value)


def test_a_sound_folder_passes_and_a_pickle_beside_safetensors_is_noted(tmp_path, tiny_model_dir):
    assert verify_model_folder(tiny_model_dir) == []
    folder = tmp_path / "both"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    assert verify_model_folder(folder) == ["pytorch_model.bin ignored: pickle weights are never loaded, the safetensors weights are used"]


def test_the_asset_fails_with_the_cause_and_writes_nothing(tmp_path, tiny_model_dir):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    _truncate(folder)
    storage = ProjectStorage(artifacts_dir=str(tmp_path / "artifacts"), datasets_dir=str(tmp_path / "datasets"))
    result = dg.materialize([base_checkpoint], resources={"base_model": BaseModelResource(name_or_path=str(folder)), "storage": storage},
                            raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert re.search(r"model\.safetensors: truncated", failure.step_failure_data.user_failure_data.description)
    assert not (tmp_path / "artifacts" / "models").exists() or not any((tmp_path / "artifacts" / "models").iterdir())
