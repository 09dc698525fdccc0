"""Finding, checking, hashing and loading Hugging Face causal LMs, safely.

Only safetensors weights are loaded and `trust_remote_code` is never enabled. Every way a model
can be unusable (no weights, pickle weights, no tokenizer, a hub id that is not cached while
offline) raises `ModelLoadError` with what to do about it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from tunix_rt_pipelines.lib.hashing import tree_sha256

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.ckpt", "tf_model.h5", "flax_model.msgpack")
# Files that make up a checkpoint for hashing and copying (training state is not part of it).
_CHECKPOINT_SUFFIXES = (".safetensors", ".json", ".txt", ".model", ".jinja")


class ModelLoadError(Exception):
    """A model that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Checkpoint:
    """A checked model folder and what it holds (read from its files, no weights loaded)."""

    name: str  # what the user asked for: builtin:tiny, a hub id, a folder, or "<base>+sft"
    path: Path
    sha256: str
    architecture: str
    parameters: int
    vocab_size: int


ADAPTER_DIR = "adapter"  # a LoRA checkpoint keeps its adapter here, beside the merged weights


def checkpoint_files(folder: Path) -> list[Path]:
    """The files of a saved model (weights, configs, tokenizer, and a LoRA adapter in `adapter/`), sorted by relative path."""
    def files(where: Path) -> list[Path]:
        return [p for p in where.iterdir() if p.is_file() and p.name.endswith(_CHECKPOINT_SUFFIXES) and not p.name.startswith(".")]

    adapter = folder / ADAPTER_DIR
    return sorted(files(folder) + (files(adapter) if adapter.is_dir() else []), key=lambda p: p.relative_to(folder).as_posix())


def folder_sha256(folder: Path) -> str:
    """The checkpoint's identity: `hashing.tree_sha256` over its checkpoint files (stable across copies)."""
    return tree_sha256(folder, checkpoint_files(folder))


def check_model_folder(folder: Path) -> None:
    """Refuse folders that cannot be loaded safely, before any heavy import.

    Raises:
        ModelLoadError: missing folder, config, tokenizer or safetensors weights, or pickle weights.
    """
    if not folder.is_dir():
        raise ModelLoadError(f"{folder}: not a folder; pass a folder saved with save_pretrained, a hub id, or builtin:tiny")
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{folder}: no config.json; save the model with model.save_pretrained(folder)")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{folder}/config.json: not valid JSON ({exc}); save the model again with model.save_pretrained(folder)") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{folder}/config.json: holds a {type(config).__name__}, not the model's settings object; "
                             "save the model again with model.save_pretrained(folder)")
    if not any(folder.glob("*.safetensors")):
        pickles = [name for name in PICKLE_WEIGHTS if (folder / name).exists()]
        if pickles:
            raise ModelLoadError(
                f"{folder}: only pickle weights ({', '.join(pickles)}); they can run arbitrary code when loaded and are refused. "
                "Convert once with model.save_pretrained(folder, safe_serialization=True)"
            )
        raise ModelLoadError(f"{folder}: no *.safetensors weights; save the model with model.save_pretrained(folder)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); save it with tokenizer.save_pretrained(folder)")


def resolve_hub_snapshot(repo_id: str, revision: str | None, allow_download: bool) -> Path:
    """The local snapshot folder of a hub model (downloading it when allowed and reachable)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    offline = not allow_download or os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false")
    try:
        return Path(snapshot_download(repo_id, revision=revision, local_files_only=offline,
                                      allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"]))
    except LocalEntryNotFoundError as exc:
        raise ModelLoadError(
            f"{repo_id!r} is not in the local Hugging Face cache and cannot be downloaded here ({'offline' if offline else exc}). "
            f"Download it once where the hub is reachable (`huggingface-cli download {repo_id}`) and copy the cache, "
            "or pass a local folder saved with save_pretrained"
        ) from None
    except Exception as exc:  # network, auth, missing repo: all end the same way for the user
        raise ModelLoadError(f"cannot fetch {repo_id!r} from the Hugging Face hub: {exc}. Pass a local folder instead") from None


def count_parameters(folder: Path) -> int:
    """Parameters stored in the folder's safetensors files, read from their (checked) headers only."""
    return sum(math.prod(shape) for path in sorted(folder.glob("*.safetensors")) for shape in safetensors_shapes(path).values())


# Bytes per element of each safetensors dtype.
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
                "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}
_MAX_HEADER = 100_000_000  # safetensors' own limit on the JSON header
_SAVE_AGAIN = "save the model again with model.save_pretrained(folder) (or download it again)"


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of one safetensors file, after checking its layout against its size.

    The header is read here rather than with `safetensors.safe_open`, which checks the same layout
    but reports a truncated file, a padded one and a bad tensor entry all as "incomplete metadata,
    file not fully covered". This names the tensor and the byte counts, so the user knows whether
    the download was cut short. It reads only the header, never the weights.

    Raises:
        ModelLoadError: Not a safetensors file, or truncated, or a tensor whose bytes do not fit its shape.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        prefix = fh.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 0 < length <= min(_MAX_HEADER, size - 8):
            raise ModelLoadError(f"{path}: not a safetensors file (its header length is {length}, the file {size} bytes); {_SAVE_AGAIN}")
        try:
            header = json.loads(fh.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelLoadError(f"{path}: not a safetensors file (its header is not JSON); {_SAVE_AGAIN}") from None
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path}: not a safetensors file (its header is not a mapping); {_SAVE_AGAIN}")
    shapes, end = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, stop) = info["dtype"], tuple(int(d) for d in info["shape"]), info["data_offsets"]
            expected = math.prod(shape) * _DTYPE_BYTES[dtype]
        except (KeyError, TypeError, ValueError):
            raise ModelLoadError(f"{path}: tensor {name!r} has an unreadable entry in the header; {_SAVE_AGAIN}") from None
        if stop - begin != expected:
            raise ModelLoadError(f"{path}: tensor {name!r} ({dtype}, shape {list(shape)}) needs {expected} bytes, the file gives it "
                                 f"{stop - begin}; {_SAVE_AGAIN}")
        shapes[name], end = shape, max(end, stop)
    if size != 8 + length + end:
        what = "truncated" if size < 8 + length + end else "longer than its header says"
        raise ModelLoadError(f"{path}: {what} ({size} bytes, the header describes {8 + length + end}); {_SAVE_AGAIN}")
    return shapes


def describe_folder(name: str, folder: Path) -> Checkpoint:
    """Check a model folder and describe it (hash, architecture, parameters, vocab) without loading weights."""
    check_model_folder(folder)
    config = json.loads((folder / "config.json").read_text())
    architecture = (config.get("architectures") or [config.get("model_type", "unknown")])[0]
    return Checkpoint(name=name, path=folder, sha256=folder_sha256(folder), architecture=architecture,
                         parameters=count_parameters(folder), vocab_size=int(config.get("vocab_size", 0)))


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    except KeyError:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16") from None


def load_model(folder: Path, device: str = "auto", dtype: str = "auto"):
    """Load a checked folder as `(model, tokenizer)` on `device` in eval mode.

    The tokenizer pads on the left (generation). A tokenizer without an EOS token gets the one the
    generation config names; without a pad token it pads with an existing special token (EOS, else
    UNK): the vocabulary is never resized behind the user's back.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-tensor bars flood Dagster's captured logs
    check_model_folder(folder)
    device = resolve_device(device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=resolve_dtype(dtype, device), use_safetensors=True,
                                                     trust_remote_code=False)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"{folder}: cannot be loaded as a causal LM: {exc}") from None
    tokenizer.padding_side = "left"
    configured = model.generation_config.eos_token_id
    if tokenizer.eos_token is None and configured is not None:
        first = configured[0] if isinstance(configured, (list, tuple)) else configured
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(int(first))
    rows = model.get_input_embeddings().num_embeddings
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id >= rows:
        raise ModelLoadError(f"{folder}: the tokenizer's end token {tokenizer.eos_token!r} (id {tokenizer.eos_token_id}) is outside the "
                             f"model's {rows} embeddings; the tokenizer does not belong to these weights")
    # No pad token, or one the tokenizer class added outside the embeddings (Qwen2's tokenizer brings
    # '<|endoftext|>' to a vocabulary without it): pad with a special token the model has.
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id >= rows:
        fallback = next((t for t, i in ((tokenizer.eos_token, tokenizer.eos_token_id), (tokenizer.unk_token, tokenizer.unk_token_id))
                         if t is not None and i is not None and i < rows), None)
        if fallback is None:
            raise ModelLoadError(f"{folder}: the tokenizer has no pad, end-of-sequence or unknown token inside the model's embeddings "
                                 "to pad with; add one to the tokenizer (and resize the embeddings yourself)")
        tokenizer.pad_token = fallback
    model.to(device).eval()
    return model, tokenizer
