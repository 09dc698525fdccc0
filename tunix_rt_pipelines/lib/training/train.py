"""Supervised fine-tuning with transformers' `Trainer`, resumable after a crash.

Layout of one training folder (`work_dir`, keyed by base model, data and settings):

    checkpoints/checkpoint-N/   Trainer's resumable state, every `save_steps`; removed on success
    model/                      the trained checkpoint: safetensors, tokenizer, training_config.json,
                                loss_history.json (deterministic files only, so the sha256 is stable)
    stats.json, loss_curve.png  wall time, tokens/s and the plot (not part of the checkpoint hash)

`Trainer` is used rather than a plain loop because it gives exact resumption (optimizer,
scheduler, RNG and data position) for free; benchmarks/training_throughput.py shows its
overhead against a bare torch loop on the same batches. Batches are packed (`data.PackingCollator`,
the built-in models) or padded by transformers' `DataCollatorForSeq2Seq` (labels padded with
-100), and real tokens are counted by the Trainer itself (`include_num_input_tokens_seen="non_padding"`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tunix_rt_pipelines.lib.hashing import folder_key
from tunix_rt_pipelines.lib.plots import loss_curve
from tunix_rt_pipelines.lib.training.adapters import base_facts, parameter_counts, save_trained, wrap_with_lora
from tunix_rt_pipelines.lib.training.data import IGNORE_INDEX, PackingCollator, TraceDataset, encode_traces
from tunix_rt_pipelines.lib.training.host import host_facts
from tunix_rt_pipelines.lib.training.settings import TrainSettings, packing_active


@dataclass(frozen=True)
class TrainingResult:
    model_dir: Path
    steps: int
    final_loss: float
    loss_history: list[dict[str, float]]
    tokens_per_second: float
    wall_seconds: float
    resumed_from_step: int  # 0 when training started from the base model
    examples: int
    too_long: int
    lora: bool = False  # adapters trained (and merged into the saved checkpoint)
    trainable_parameters: int = 0
    total_parameters: int = 0
    prompt_format: dict = field(default_factory=dict)  # PromptFormat.describe()
    host: dict = field(default_factory=dict)  # host.host_facts(): what decides the weights' last bits


def training_key(base_sha256: str, traces_sha256: str, settings: TrainSettings) -> str:
    """The `work_dir` name for one (base model, traces, settings): a rerun after a crash finds its checkpoints."""
    return folder_key(base_sha256, traces_sha256, settings.identity())


def _latest_checkpoint(checkpoints: Path) -> Path | None:
    found = [p for p in checkpoints.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _checkpointing_arg() -> str:
    """TrainingArguments' name for activation recomputation: transformers 5 renamed `gradient_checkpointing` (a
    deprecated alias, gone in 6) to `activation_checkpointing`; 4.x knows only the old name."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def _precision(settings: TrainSettings, device: str) -> dict[str, bool]:
    """Trainer's mixed-precision and gradient-checkpointing flags: the "auto" settings switch them on with CUDA only."""
    import torch

    cuda = device.startswith("cuda")
    mixed = settings.mixed_precision
    if mixed == "auto":
        mixed = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    checkpointing = settings.gradient_checkpointing == "on" or (settings.gradient_checkpointing == "auto" and cuda)
    return {"bf16": mixed == "bf16", "fp16": mixed == "fp16", _checkpointing_arg(): checkpointing}


def _training_arguments(settings: TrainSettings, output_dir: Path, device: str):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(output_dir),
        max_steps=settings.max_steps if settings.max_steps > 0 else -1,
        num_train_epochs=settings.num_train_epochs,
        per_device_train_batch_size=settings.per_worker_batch_size,  # = batch_size with one worker
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        lr_scheduler_type=settings.lr_scheduler,
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm,
        adam_beta2=0.98,  # shorter second-moment memory suits short runs from scratch
        logging_steps=settings.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=2,
        seed=settings.seed,
        data_seed=settings.seed,
        **_precision(settings, device),
        use_cpu=device == "cpu",
        report_to="none",
        disable_tqdm=True,
        log_level="warning",
        dataloader_num_workers=0,  # tokenized in memory already; workers would only add process overhead
        dataloader_pin_memory=device.startswith("cuda"),
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",  # tokens/s counts real tokens, not pads
        ddp_find_unused_parameters=False,  # Ray Train workers: every trained weight gets a gradient (no extra autograd pass)
    )


def _progress_callback(report: Callable[[str], None]):
    from transformers import TrainerCallback

    class _Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                report(f"step {state.global_step}/{state.max_steps}: loss {logs['loss']:.4f}, lr {logs.get('learning_rate', 0):.2e}")

    return _Progress()


def _tokens_at(checkpoint: Path | None) -> int:
    """Real tokens the Trainer had seen when `checkpoint` was saved (0 when starting afresh)."""
    if checkpoint is None:
        return 0
    return int(json.loads((checkpoint / "trainer_state.json").read_text()).get("num_input_tokens_seen", 0))


def train(base_dir: Path, traces: Sequence, settings: TrainSettings, work_dir: Path, callbacks: Sequence = (),
          progress: Callable[[str], None] | None = None, builtin_base: bool = False) -> TrainingResult:
    """Fine-tune the model in `base_dir` on `traces`, resuming from `work_dir/checkpoints` if a
    previous attempt crashed.

    Args:
        base_dir: A checked model folder (safetensors + tokenizer).
        traces: `TrainingTrace` rows.
        settings: The training settings.
        work_dir: This training's folder; the same inputs must map to the same folder.
        callbacks: Extra `TrainerCallback`s (tests use one to simulate a crash).
        progress: Called with a one-line summary at every logging step.
        builtin_base: The base is a built-in model (random weights): `lora.enabled: auto` is then off.

    Returns:
        Where the trained model is and how training went.
    """
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(settings.num_threads or default_threads())
    try:
        prepared = build_trainer(base_dir, traces, settings, work_dir, callbacks, progress, builtin_base)
        wall, tokens_before = run_trainer(prepared)
        return finish(prepared, settings, work_dir, wall, tokens_before)
    finally:
        torch.set_num_threads(previous_threads)


def default_threads() -> int:
    """One thread per core this process may run on (torch's own default when nothing changed it).

    Set explicitly rather than left as found: the thread count changes float summation order, so
    a process that earlier ran something with `num_threads: 1` (a sweep trial, a test) would
    otherwise train different weights from the same settings.
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass
class PreparedTraining:
    """One training's `Trainer` and what `finish` needs to save its result (shared by `train` and the Ray Train workers)."""

    trainer: object  # transformers.Trainer
    tokenizer: object
    encoded: object  # data.EncodedTraces
    prompt_format: dict
    lora: bool
    trainable: int
    total: int
    base_dtype: object
    use_cache: object
    device: str
    resume: Path | None  # the checkpoint training continues from


def build_trainer(base_dir: Path, traces: Sequence, settings: TrainSettings, work_dir: Path, callbacks: Sequence = (),
                  progress: Callable[[str], None] | None = None, builtin_base: bool = False, device: str | None = None) -> PreparedTraining:
    """The `Trainer` for one training, writing resumable checkpoints to `work_dir/checkpoints`; `device`
    overrides `settings.device` (a Ray Train worker trains on the device Ray gave it)."""
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Trainer

    from tunix_rt_pipelines.lib.models.loading import load_model, resolve_device
    from tunix_rt_pipelines.lib.models.prompt import end_token_ids, resolve_format

    device = device or resolve_device(settings.device)
    base_dtype, use_cache = base_facts(base_dir)
    model, tokenizer = load_model(base_dir, device=device, dtype=settings.dtype)
    lora = settings.lora.active(builtin_base)
    if lora:
        model = wrap_with_lora(model, settings.lora, settings.seed)
        if any(v for k, v in _precision(settings, device).items() if k.endswith("checkpointing")):
            model.enable_input_require_grads()  # checkpointed blocks need a grad-requiring input when the embeddings are frozen
    model.train()
    trainable, total = parameter_counts(model)
    tokenizer.padding_side = "right"
    rows = list(traces)[: settings.max_train_samples or None]
    fmt = resolve_format(tokenizer, settings.prompt_format)
    encoded = encode_traces(rows, tokenizer, settings.max_seq_length, fmt, end_token_ids(model, tokenizer))
    if not encoded.examples:
        raise ValueError(f"no training examples: {len(rows)} traces, {encoded.too_long} longer than max_seq_length={settings.max_seq_length}")

    checkpoints = work_dir / "checkpoints"
    packed = packing_active(settings.packing, builtin_base)
    collator = (PackingCollator(tokenizer.pad_token_id, settings.max_seq_length) if packed
                else DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX))  # right-pads (padding_side set above)
    trainer = Trainer(model=model, args=_training_arguments(settings, checkpoints, device), data_collator=collator,
                      processing_class=tokenizer,  # lets the Trainer count real tokens (not pads) when rows are packed
                      train_dataset=TraceDataset(encoded.examples),
                      callbacks=list(callbacks) + ([_progress_callback(progress)] if progress else []))
    trainer.remove_callback(PrinterCallback)  # the loss history is returned and plotted instead of printed
    return PreparedTraining(trainer=trainer, tokenizer=tokenizer, encoded=encoded, prompt_format=fmt.describe(), lora=lora,
                            trainable=trainable, total=total, base_dtype=base_dtype, use_cache=use_cache, device=device,
                            resume=_latest_checkpoint(checkpoints))


def run_trainer(prepared: PreparedTraining) -> tuple[float, int]:
    """Train (from the latest checkpoint if there is one); returns (wall seconds, tokens seen before resuming)."""
    tokens_before = _tokens_at(prepared.resume)  # read now: the Trainer rotates old checkpoints away
    start = time.perf_counter()
    prepared.trainer.train(resume_from_checkpoint=str(prepared.resume) if prepared.resume else None)
    return time.perf_counter() - start, tokens_before


def finish(prepared: PreparedTraining, settings: TrainSettings, work_dir: Path, wall: float, tokens_before: int) -> TrainingResult:
    """Save the trained model into `work_dir/model` with its stats and loss curve, and drop the resumable checkpoints."""
    import torch

    trainer, tokenizer, encoded, resume = prepared.trainer, prepared.tokenizer, prepared.encoded, prepared.resume
    history = [{"step": h["step"], "loss": round(h["loss"], 6), "learning_rate": h["learning_rate"]}
               for h in trainer.state.log_history if "loss" in h]
    model_dir = work_dir / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    save_trained(trainer.model, model_dir, lora=prepared.lora, base_dtype=prepared.base_dtype, use_cache=prepared.use_cache)
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(model_dir)
    (model_dir / "training_config.json").write_text(json.dumps({**settings.identity(), "examples": len(encoded.examples),
                                                                "too_long": encoded.too_long}, indent=2, sort_keys=True) + "\n")
    (model_dir / "loss_history.json").write_text(json.dumps(history, indent=1) + "\n")

    resumed = int(resume.name.split("-")[-1]) if resume else 0
    result = TrainingResult(model_dir=model_dir, steps=trainer.state.global_step, final_loss=history[-1]["loss"] if history else float("nan"),
                            loss_history=history, tokens_per_second=(trainer.state.num_input_tokens_seen - tokens_before) / wall if wall else 0.0,
                            wall_seconds=wall, resumed_from_step=resumed, examples=len(encoded.examples), too_long=encoded.too_long,
                            lora=prepared.lora, trainable_parameters=prepared.trainable, total_parameters=prepared.total,
                            prompt_format=prepared.prompt_format, host=host_facts(torch.get_num_threads()))
    (work_dir / "stats.json").write_text(json.dumps({"wall_seconds": wall, "tokens_per_second": result.tokens_per_second,
                                                     "resumed_from_step": resumed, "device": prepared.device, "host": result.host,
                                                     **({"num_workers": settings.num_workers} if settings.num_workers > 1 else {})},
                                                    indent=2) + "\n")
    loss_curve(history, work_dir / "loss_curve.png")
    shutil.rmtree(work_dir / "checkpoints", ignore_errors=True)  # resumable state is only for crashes
    return result
