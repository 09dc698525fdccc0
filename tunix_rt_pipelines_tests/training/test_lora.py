"""Fine-tuning a model a user brings: LoRA, chat templates, and a checkpoint that keeps what the base had.

Contract: `lora.enabled: auto` trains adapters for a brought model and every weight of a built-in
one; with LoRA only the adapters train, the saved checkpoint is the merged plain Hugging Face
model (loadable without peft) with the adapter kept in `adapter/`; a bfloat16 base comes back
bfloat16 and `use_cache` keeps the base's value; a chat-template model is trained on the
assistant turn only, end-of-turn included; LoRA runs are byte-identical on rerun and after a
crash and resume.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.models.loading import folder_sha256, load_model
from tunix_rt_pipelines.lib.models.prompt import end_token_ids, resolve_format
from tunix_rt_pipelines.lib.training.data import IGNORE_INDEX, encode_traces
from tunix_rt_pipelines.lib.training.settings import TrainSettings
from tunix_rt_pipelines.lib.training.train import train
from tunix_rt_pipelines_tests.models.tiny_families import make_family
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS
from tunix_rt_pipelines_tests.training.test_train import CrashAt

TRACES = read_dataset(REAL_DATASETS / "reasoning-traces-v1").rows[:64]
SMALL = {"max_steps": 6, "max_train_samples": 64, "batch_size": 8, "warmup_steps": 1, "logging_steps": 1, "save_steps": 3,
         "num_threads": 2, "learning_rate": 1e-2}


def _tensors(path: Path) -> dict[str, str]:
    with safe_open(str(path), "pt") as fh:
        return {k: str(fh.get_slice(k).get_dtype()) for k in fh.keys()}  # noqa: SIM118 (a safetensors handle is not iterable)


def test_lora_trains_only_the_adapters_and_saves_a_merged_plain_checkpoint(tmp_path: Path):
    base = make_family("llama", tmp_path / "base")
    result = train(base, TRACES, TrainSettings(**SMALL), tmp_path / "run")  # a brought model: auto means LoRA
    assert result.lora and 0 < result.trainable_parameters < result.total_parameters / 4  # r=16 on a 64-wide model: ~21%
    files = sorted(p.name for p in result.model_dir.iterdir())
    assert "adapter" in files and "adapter_config.json" not in files  # the adapter beside, not instead of, the model
    assert (result.model_dir / "adapter" / "adapter_config.json").is_file()
    config = json.loads((result.model_dir / "config.json").read_text())
    assert config["use_cache"] is True and config["dtype"] == "float32"
    merged, _ = load_model(result.model_dir, device="cpu")  # a plain model: no peft needed to load it
    original, _ = load_model(base, device="cpu")
    assert type(merged).__name__ == "LlamaForCausalLM"
    changed = [n for n, p in merged.state_dict().items() if not p.equal(original.state_dict()[n])]
    assert changed and all("proj" in n for n in changed)  # only the adapted linear layers moved


def test_a_builtin_base_trains_every_weight_unless_lora_is_asked_for(tmp_path: Path, tiny_model_dir: Path):
    full = train(tiny_model_dir, TRACES, TrainSettings(**{**SMALL, "max_steps": 2}), tmp_path / "full", builtin_base=True)
    assert not full.lora and full.trainable_parameters == full.total_parameters
    forced = train(tiny_model_dir, TRACES, TrainSettings(**{**SMALL, "max_steps": 2}, lora={"enabled": "on", "r": 4}), tmp_path / "lora",
                   builtin_base=True)
    assert forced.lora and forced.trainable_parameters < full.trainable_parameters


def test_activation_checkpointing_recomputes_exactly_with_frozen_embeddings(tmp_path: Path, recwarn):
    base = make_family("llama", tmp_path / "base")
    settings = {**SMALL, "max_steps": 2}
    plain = train(base, TRACES, TrainSettings(**settings, gradient_checkpointing="off"), tmp_path / "plain")
    checkpointed = train(base, TRACES, TrainSettings(**settings, gradient_checkpointing="on"), tmp_path / "ckpt")
    assert checkpointed.lora and checkpointed.final_loss == pytest.approx(plain.final_loss, rel=1e-5)
    # TrainingArguments gets the current name (peft itself still asks `is_gradient_checkpointing`: not ours to fix)
    assert not [w for w in recwarn if "`gradient_checkpointing` is deprecated" in str(w.message)]


def test_a_bfloat16_base_comes_back_bfloat16(tmp_path: Path):
    base = make_family("qwen2", tmp_path / "base", dtype="bfloat16")
    result = train(base, TRACES, TrainSettings(**{**SMALL, "max_steps": 2}, lora={"enabled": "off"}), tmp_path / "run")
    assert set(_tensors(result.model_dir / "model.safetensors").values()) == {"BF16"}
    assert json.loads((result.model_dir / "config.json").read_text())["dtype"] == "bfloat16"
    size = (result.model_dir / "model.safetensors").stat().st_size
    assert abs(size - (base / "model.safetensors").stat().st_size) < 4096  # not twice the size in float32


def test_a_chat_model_learns_the_assistant_turn_only(tmp_path: Path):
    base = make_family("qwen2", tmp_path / "chat", chat=True, pad=False)
    model, tokenizer = load_model(base, device="cpu")
    fmt = resolve_format(tokenizer)
    [example] = encode_traces(TRACES[:1], tokenizer, 512, fmt, end_token_ids(model, tokenizer)).examples
    trained_on = tokenizer.decode([t for t in example.labels if t != IGNORE_INDEX])
    prompt = tokenizer.decode(example.input_ids[: example.labels.index(next(t for t in example.labels if t != IGNORE_INDEX))])
    assert prompt.endswith("<|im_start|>assistant\n") and TRACES[0].prompt in prompt
    assert trained_on.startswith(TRACES[0].steps[0].content if TRACES[0].steps else "Answer:")
    assert f"Answer: {TRACES[0].answer}<|im_end|>" in trained_on  # the end of turn the model must learn to stop at
    result = train(base, TRACES, TrainSettings(**{**SMALL, "max_steps": 2}), tmp_path / "run")
    assert result.prompt_format == {"style": "chat", "template_sha256": fmt.template_sha256}


@pytest.mark.slow
def test_lora_reruns_and_crash_resumes_are_byte_identical(tmp_path: Path):
    base = make_family("llama", tmp_path / "base")
    settings = TrainSettings(**SMALL)
    first = train(base, TRACES, settings, tmp_path / "first")
    second = train(base, TRACES, settings, tmp_path / "second")
    assert folder_sha256(first.model_dir) == folder_sha256(second.model_dir)
    crashed = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash at step 4"):
        train(base, TRACES, settings, crashed, callbacks=[CrashAt(4)])
    resumed = train(base, TRACES, settings, crashed)
    assert resumed.resumed_from_step == 3 and resumed.lora
    assert folder_sha256(resumed.model_dir) == folder_sha256(first.model_dir)
