"""Training contract: a few steps change the parameters and lower the loss on the completion;
the prompt is masked out of the loss; a crashed run resumes from its last checkpoint and ends
with the same weights as an uninterrupted one; bad input fails before anything is written."""

import json

import pytest
from transformers import TrainerCallback

from tunix_rt_pipelines.defs.training.config import TrainingConfig
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.models.loading import folder_sha256, load_model
from tunix_rt_pipelines.lib.training.data import IGNORE_INDEX, encode_traces
from tunix_rt_pipelines.lib.training.train import train
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

TRACES = read_dataset(REAL_DATASETS / "reasoning-traces-v1").rows[:256]
SMALL = {"max_train_samples": 64, "batch_size": 8, "warmup_steps": 2, "logging_steps": 1, "save_steps": 4, "num_threads": 2}


class CrashAt(TrainerCallback):
    """Simulates a crash (OOM, pre-emption) right after optimizer step `step`."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise RuntimeError(f"simulated crash at step {self.step}")


def test_encoding_masks_the_prompt_and_ends_with_eos(tiny_model_dir):
    _, tokenizer = load_model(tiny_model_dir, device="cpu")
    encoded = encode_traces(TRACES[:4], tokenizer, max_seq_length=160)
    for trace, example in zip(TRACES[:4], encoded.examples):
        completion = [t for t in example.labels if t != IGNORE_INDEX]
        assert tokenizer.decode(completion[:-1]).endswith(f"Answer: {trace.answer}")
        assert completion[-1] == tokenizer.eos_token_id
        assert example.labels[: len(example.input_ids) - len(completion)] == [IGNORE_INDEX] * (len(example.input_ids) - len(completion))
        assert example.input_ids[-len(completion):] == completion


def test_traces_longer_than_max_seq_length_are_counted_not_truncated(tiny_model_dir):
    _, tokenizer = load_model(tiny_model_dir, device="cpu")
    encoded = encode_traces(TRACES[:50], tokenizer, max_seq_length=40)
    assert encoded.too_long > 0 and len(encoded.examples) + encoded.too_long == 50
    assert all(len(e.input_ids) <= 40 for e in encoded.examples)


def test_a_few_steps_change_parameters_and_lower_the_loss(tmp_path, tiny_model_dir):
    result = train(tiny_model_dir, TRACES, TrainingConfig(max_steps=12, **SMALL), tmp_path / "run", builtin_base=True)
    assert result.steps == 12 and result.resumed_from_step == 0
    losses = [h["loss"] for h in result.loss_history]
    assert losses[-1] < losses[0] * 0.8  # from ~4.6 (uniform over 100 tokens) clearly down
    assert folder_sha256(result.model_dir) != folder_sha256(tiny_model_dir)
    files = sorted(p.name for p in result.model_dir.iterdir())
    assert "model.safetensors" in files and "tokenizer.json" in files and "training_config.json" in files
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in files)  # no pickles in the checkpoint
    assert json.loads((result.model_dir / "loss_history.json").read_text()) == result.loss_history
    assert not (tmp_path / "run" / "checkpoints").exists()  # resumable state is removed after success
    # the machine facts that decide the weights' last bits, outside the hashed checkpoint
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["host"] == result.host and result.host["torch_threads"] == SMALL["num_threads"]
    assert (tmp_path / "run" / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_crashed_run_resumes_from_its_last_checkpoint(tmp_path, tiny_model_dir):
    config = TrainingConfig(max_steps=10, **SMALL)
    reference = train(tiny_model_dir, TRACES, config, tmp_path / "reference", builtin_base=True)

    work = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash at step 7"):
        train(tiny_model_dir, TRACES, config, work, callbacks=[CrashAt(7)], builtin_base=True)
    assert not (work / "model").exists()  # no trained checkpoint from a crashed run
    assert sorted(p.name for p in (work / "checkpoints").iterdir()) == ["checkpoint-4"]

    resumed = train(tiny_model_dir, TRACES, config, work, builtin_base=True)
    assert resumed.resumed_from_step == 4 and resumed.steps == 10
    # Exact resumption (optimizer, scheduler, RNG, data position): same weights as never crashing.
    assert folder_sha256(resumed.model_dir) == folder_sha256(reference.model_dir)


def test_no_usable_traces_fails_before_writing(tmp_path, tiny_model_dir):
    with pytest.raises(ValueError, match="no training examples"):
        train(tiny_model_dir, TRACES, TrainingConfig(max_steps=2, max_seq_length=32, **{k: v for k, v in SMALL.items()}), tmp_path / "run", builtin_base=True)
    assert not (tmp_path / "run").exists()


def test_training_uses_one_thread_per_core_whatever_ran_before_and_restores_the_count(tmp_path, tiny_model_dir):
    """The thread count changes float summation order, so a process that earlier set 1 thread (a sweep
    trial, a test) must not train different weights from the same settings."""
    import torch
    from transformers import TrainerCallback

    from tunix_rt_pipelines.lib.training.train import default_threads

    seen = []

    class Threads(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        settings = TrainingConfig(max_steps=2, **{**SMALL, "num_threads": 0})
        train(tiny_model_dir, TRACES, settings, tmp_path / "run", callbacks=[Threads()], builtin_base=True)
        assert seen == [default_threads()] * 2 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
