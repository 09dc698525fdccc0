"""Every causal-LM family a user brings loads through the project's own path and predicts exactly
what Hugging Face's per-item greedy `generate` predicts.

Contract, per family (tiny random models of real architectures, saved with save_pretrained and a
BPE tokenizer trained in the test): `predict()` loads the folder, writes one prediction per item
identical to `reference_generate`, and records which decoder ran: the cache-merging batched path
for models with a plain KV cache, Hugging Face's batched `generate` for sliding-window caches
(Mistral, Gemma2) and recurrent models (Mamba, which has no KV cache at all).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.inference.generate import FAST, HF_GENERATE, reference_generate
from tunix_rt_pipelines.lib.inference.predict import predict
from tunix_rt_pipelines.lib.inference.settings import GenerationSettings
from tunix_rt_pipelines.lib.models.loading import describe_folder, load_model
from tunix_rt_pipelines.lib.models.prompt import resolve_format
from tunix_rt_pipelines_tests.models.tiny_families import FAMILIES, make_family
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

GOLDEN = read_dataset(REAL_DATASETS / "golden-v1")
ITEMS = GOLDEN.rows[::9]  # 12 items of every family and length
EXPECTED_DECODER = {"mistral": HF_GENERATE, "gemma2": HF_GENERATE, "mamba": HF_GENERATE}
# One family per decoder path in the default run (plain KV cache, sliding window, recurrent); all of them under -m slow.
DEFAULT_RUN = {"llama", "mistral", "mamba"}


@pytest.mark.parametrize("family", [f if f in DEFAULT_RUN else pytest.param(f, marks=pytest.mark.slow) for f in FAMILIES])
def test_predictions_equal_per_item_generate(family: str, tmp_path: Path):
    folder = make_family(family, tmp_path / family)
    settings = GenerationSettings(max_new_tokens=10, batch_size=12, device="cpu")
    checkpoint = describe_folder(family, folder)
    result = predict(folder, checkpoint.sha256, ITEMS, GOLDEN.sha256, settings, tmp_path / "out")

    predicted = [json.loads(line)["prediction"] for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    model, tokenizer = load_model(folder, device="cpu")
    fmt = resolve_format(tokenizer)
    reference = reference_generate(model, tokenizer, [fmt.prompt(tokenizer, i.prompt) for i in ITEMS], max_new_tokens=10)
    assert predicted == reference.completions
    assert result.decoder == EXPECTED_DECODER.get(family, FAST)
    meta = json.loads((tmp_path / "out" / "predictions_meta.json").read_text())
    assert meta["decoder"] == result.decoder and meta["prompt_format"] == {"style": "plain", "template_sha256": None}


def test_an_instruct_model_is_prompted_with_its_chat_template_and_stops_at_end_of_turn(tmp_path: Path):
    folder = make_family("qwen2", tmp_path / "qwen2-chat", chat=True, pad=False)
    model, tokenizer = load_model(folder, device="cpu")
    # No pad token (and the Qwen2 tokenizer class adds '<|endoftext|>' outside the 400 embeddings):
    # an existing special token pads instead, and nothing is resized.
    assert tokenizer.pad_token == tokenizer.eos_token == "</s>"
    assert model.get_input_embeddings().weight.shape[0] == 400
    fmt = resolve_format(tokenizer)
    prompt = fmt.prompt(tokenizer, "What is 2 + 3?")
    assert fmt.style == "chat" and prompt == "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"
    result = predict(folder, describe_folder("q", folder).sha256, ITEMS, GOLDEN.sha256, GenerationSettings(max_new_tokens=8, device="cpu"),
                     tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "predictions_meta.json").read_text())
    assert meta["prompt_format"]["style"] == "chat" and meta["prompt_format"]["template_sha256"] == fmt.template_sha256
    assert result.prompt_format == meta["prompt_format"]
    reference = reference_generate(model, tokenizer, [fmt.prompt(tokenizer, i.prompt) for i in ITEMS], max_new_tokens=8,
                                   add_special_tokens=False)
    predicted = [json.loads(line)["prediction"] for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert predicted == reference.completions


def test_forcing_a_chat_format_without_a_template_is_refused(tmp_path: Path):
    folder = make_family("llama", tmp_path / "llama")
    settings = GenerationSettings(max_new_tokens=4, device="cpu", prompt_format="chat")
    with pytest.raises(ValueError, match="prompt_format is chat but the tokenizer has no chat template"):
        predict(folder, describe_folder("l", folder).sha256, ITEMS, GOLDEN.sha256, settings, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything is written
