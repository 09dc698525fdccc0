"""`tunix-rt run --config FILE` refuses every bad setting before a run exists (issue 13, section 1).

Contract: each malformed config below exits 2 with one message line on stderr that names the
setting (its run-config path) and the value or problem, no traceback, and no run is created
(the project's Dagster home is not even made). The cases are the ones a new user met: each of
them used to start a run that failed 20-60 s later inside a step, or "succeeded" with nonsense.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.cli.main import main


def _ops(asset: str, **config) -> dict:
    return {"ops": {asset: {"config": config}}}


TRAIN, PREDICT = "trained_checkpoint", "base_predictions"
# (case id, run config or raw file text, words the one-line message must contain)
CASES = [
    ("max_steps_negative", _ops(TRAIN, max_steps=-1), ["trained_checkpoint.config.max_steps", "-1", "0 <= value <= 1000000"]),
    ("max_steps_typo_huge", _ops(TRAIN, max_steps=10**12), ["max_steps", "1000000000000", "less than or equal to 1000000"]),
    ("epochs_zero", _ops(TRAIN, max_steps=0, num_train_epochs=0), ["num_train_epochs", "greater than 0"]),
    ("batch_size_zero", _ops(TRAIN, batch_size=0), ["batch_size", "1 <= value <= 65536"]),
    ("accumulation_zero", _ops(TRAIN, gradient_accumulation_steps=0), ["gradient_accumulation_steps", "0 is refused"]),
    ("lr_nan", "ops: {trained_checkpoint: {config: {learning_rate: .nan}}}", ["learning_rate", "nan", "finite number"]),
    ("lr_inf", "ops: {trained_checkpoint: {config: {learning_rate: .inf}}}", ["learning_rate", "inf", "finite number"]),
    ("lr_negative", _ops(TRAIN, learning_rate=-0.1), ["learning_rate", "-0.1", "0 < value <= 1.0"]),
    ("lr_zero", _ops(TRAIN, learning_rate=0.0), ["learning_rate", "greater than 0"]),
    ("lr_typo_huge", _ops(TRAIN, learning_rate=30.0), ["learning_rate", "30.0", "less than or equal to 1"]),
    ("weight_decay_negative", _ops(TRAIN, weight_decay=-0.01), ["weight_decay", "-0.01"]),
    ("save_steps_zero", _ops(TRAIN, save_steps=0), ["save_steps", "0 is refused"]),
    ("seq_length_4", _ops(TRAIN, max_seq_length=4), ["max_seq_length", "32 <= value"]),
    ("seq_length_8", _ops(TRAIN, max_seq_length=8), ["max_seq_length", "8 is refused"]),
    ("scheduler_unknown", _ops(TRAIN, lr_scheduler="cosine_wiht_restarts"), ["lr_scheduler", "cosine_wiht_restarts", "not in enum"]),
    ("device_tpu", _ops(TRAIN, device="tpu"), ["trained_checkpoint.config.device", "'tpu' is not supported", "cuda:N"]),
    ("dtype_float64", _ops(TRAIN, dtype="float64"), ["trained_checkpoint.config.dtype", "float64"]),
    ("threads_negative", _ops(TRAIN, num_threads=-2), ["num_threads", "-2"]),
    ("train_samples_negative", _ops(TRAIN, max_train_samples=-5), ["max_train_samples", "-5"]),
    ("seed_too_big_for_numpy", _ops(TRAIN, seed=2**40), ["trained_checkpoint.config.seed", "4294967295"]),
    ("lora_rank_zero", {"ops": {TRAIN: {"config": {"lora": {"r": 0}}}}}, ["lora.r", "0 is refused"]),
    ("new_tokens_zero", _ops(PREDICT, max_new_tokens=0), ["base_predictions.config.max_new_tokens", "0 is refused"]),
    ("new_tokens_negative", _ops(PREDICT, max_new_tokens=-3), ["max_new_tokens", "-3"]),
    ("new_tokens_typo_huge", _ops(PREDICT, max_new_tokens=10**9), ["max_new_tokens", "1000000000", "32768"]),
    ("inference_batch_zero", _ops("trained_predictions", batch_size=0), ["trained_predictions.config.batch_size"]),
    ("inference_dtype", _ops(PREDICT, dtype="int8"), ["base_predictions.config.dtype", "int8"]),
    ("unknown_setting", _ops(TRAIN, max_stepz=20), ["max_stepz", "known settings", "max_steps"]),
    ("wrong_type", _ops(TRAIN, max_steps="twenty"), ["trained_checkpoint.config.max_steps", "twenty"]),
    ("unknown_asset", _ops("trained_checkpointz", max_steps=1), ["trained_checkpointz"]),
    ("unknown_top_level", {"opz": {}}, ["opz", "at the root"]),
    ("leaderboard_rows", _ops("leaderboard", rows=0), ["leaderboard.config.rows", "0 is refused"]),
    ("leaderboard_name", _ops("leaderboard", model_name="Bad Name"), ["leaderboard.config.model_name", "invalid model name 'Bad Name'"]),
    ("promotion_name", _ops("promotion_candidate", model_name="../x"), ["promotion_candidate.config.model_name", "'../x'", "lowercase"]),
    ("promoted_by_long", _ops("promotion_candidate", promoted_by="x" * 201), ["promoted_by", "at most 200 characters"]),
    ("batch_not_split_by_workers", _ops(TRAIN, num_workers=3), ["batch_size=32 cannot be split across num_workers=3", "divisible by 3"]),
    ("workers_zero", _ops(TRAIN, num_workers=0), ["num_workers", "0"]),
    ("lora_dropout_one", {"ops": {TRAIN: {"config": {"lora": {"dropout": 1.0}}}}}, ["lora.dropout", "1.0", "0.0 <= value < 1.0"]),
    ("grad_norm_inf", "ops: {trained_checkpoint: {config: {max_grad_norm: .inf}}}", ["max_grad_norm", "finite"]),
    ("epochs_inf", "ops: {trained_checkpoint: {config: {max_steps: 0, num_train_epochs: .inf}}}", ["num_train_epochs", "finite"]),
    ("inference_seed_negative", _ops(PREDICT, seed=-1), ["base_predictions.config.seed", "-1"]),
    ("max_items_negative", _ops(PREDICT, max_items=-1), ["max_items", "-1"]),
    ("decoder_unknown", _ops(PREDICT, decoder="beam"), ["decoder", "beam"]),
    ("prompt_format_unknown", _ops(TRAIN, prompt_format="alpaca"), ["prompt_format", "alpaca"]),
    ("config_not_a_mapping", {"ops": {TRAIN: {"config": [1, 2]}}}, ["trained_checkpoint.config"]),
    ("resource_unknown_key", {"resources": {"storage": {"config": {"artifact_dir": "x"}}}}, ["artifact_dir", "resources.storage.config"]),
    # unreadable files
    ("top_level_list", "- max_steps: 1\n", ["top level is a list, not a mapping"]),
    ("duplicate_key", "ops:\n  trained_checkpoint:\n    config:\n      max_steps: 5\n      max_steps: 6\n", [":5:7:", "'max_steps' is given twice"]),
    ("yaml_syntax", "ops:\n  trained_checkpoint: {config: {max_steps: 5}\n", [":3:1:", "YAML syntax error"]),
    ("json_syntax", '{"ops": {"trained_checkpoint": }}', [":1:32:", "JSON syntax error"]),
]


def _write(tmp_path: Path, config: dict | str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return path


@pytest.mark.parametrize("config, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_settings_are_refused_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], config, words) -> None:
    home = environment.dagster_home()
    existed = home.exists()
    code = main(["run", "--config", str(_write(tmp_path, config, "run.txt"))])  # .txt: read by content, not suffix
    err = capsys.readouterr().err

    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert home.exists() == existed  # no instance folder, so certainly no run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.txt"]  # nothing written beside the config


def test_several_problems_are_listed_one_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {"ops": {TRAIN: {"config": {"max_steps": -1, "batch_size": 0}}, PREDICT: {"config": {"max_new_tokens": 0}}}}
    assert main(["run", "--config", str(_write(tmp_path, config, "run.yaml"))]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].endswith("3 settings refused, no run was started:")
    assert sorted(line.split(":")[0].strip() for line in lines[1:]) == [
        "ops.base_predictions.config.max_new_tokens", "ops.trained_checkpoint.config.batch_size", "ops.trained_checkpoint.config.max_steps"]


def test_a_cuda_device_this_machine_lacks_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    device = f"cuda:{count}"  # one past the last card: absent on every machine
    assert main(["run", "--config", str(_write(tmp_path, _ops(TRAIN, device=device), "run.yaml"))]) == 2
    err = capsys.readouterr().err.strip()
    assert f"ops.trained_checkpoint.config.device: device '{device}'" in err and "\n" not in err
    assert ("needs a CUDA GPU" if count == 0 else f"has {count} CUDA device(s)") in err


def test_smoke_settings_take_the_config_file_on_top(tmp_path: Path) -> None:
    from tunix_rt_pipelines.cli.pipeline import SMOKE_CONFIG, _load_run_config

    path = _write(tmp_path, _ops(TRAIN, num_workers=2, max_steps=60), "run.yaml")
    config = _load_run_config(str(path), smoke=True)
    assert config["ops"][TRAIN]["config"] == {**SMOKE_CONFIG["ops"][TRAIN]["config"], "num_workers": 2, "max_steps": 60}
    assert config["ops"]["base_predictions"] == SMOKE_CONFIG["ops"]["base_predictions"]  # --smoke's other settings stay
    assert _load_run_config(str(path), smoke=False) == _ops(TRAIN, num_workers=2, max_steps=60)
