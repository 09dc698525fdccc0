"""Tiny random causal LMs of real architectures, saved the way a user's model would be, made offline.

`make_family(name, folder)` builds a ~100k-parameter model of that family with transformers' own
config class, a byte-level BPE tokenizer trained here on the project's traces (the families that
ship one), and saves both with `save_pretrained` (safetensors). Options cover what instruct models
bring: a chat template, no pad token, end-of-turn as an extra EOS in the generation config, and
bfloat16 weights.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

# A ChatML-style template (as Qwen2 instruct models ship), kept small.
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
HIDDEN = 64


def _configs(t, ids: dict) -> dict:
    """transformers config per family: 2 layers, hidden 64 (head dims and windows chosen to exercise each family's features)."""
    h = {"hidden_size": HIDDEN, "num_hidden_layers": 2, "num_attention_heads": 4}
    return {
        "llama": lambda: t.LlamaConfig(**h, intermediate_size=128, num_key_value_heads=2, **ids),
        "qwen2": lambda: t.Qwen2Config(**h, intermediate_size=128, num_key_value_heads=2, **ids),
        "gpt_neox": lambda: t.GPTNeoXConfig(**h, intermediate_size=128, **ids),
        "mistral": lambda: t.MistralConfig(**h, intermediate_size=128, num_key_value_heads=2, sliding_window=16, **ids),  # window < prompts
        "gemma2": lambda: t.Gemma2Config(**h, intermediate_size=128, num_key_value_heads=2, head_dim=16, sliding_window=16, **ids),
        "phi3": lambda: t.Phi3Config(**h, intermediate_size=128, num_key_value_heads=2, **ids),
        "opt": lambda: t.OPTConfig(**h, ffn_dim=128, word_embed_proj_dim=HIDDEN, **ids),
        "falcon": lambda: t.FalconConfig(**h, **ids),
        "bloom": lambda: t.BloomConfig(hidden_size=HIDDEN, n_layer=2, n_head=4, **ids),
        "mamba": lambda: t.MambaConfig(hidden_size=HIDDEN, num_hidden_layers=2, state_size=8, **ids),  # recurrent: no KV cache
    }


FAMILIES = ("llama", "qwen2", "gpt_neox", "mistral", "gemma2", "phi3", "opt", "falcon", "bloom", "mamba")


@functools.cache
def _trained_bpe(specials: tuple[str, ...]):
    """A byte-level BPE (GPT-2 style) trained on 2,000 traces: 400 tokens, the given special tokens first."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset

    rows = read_dataset(REAL_DATASETS / "reasoning-traces-v1").rows[:2000]
    texts = [f"Question: {r.prompt}\n" + "".join(f"{s.content}\n" for s in r.steps) + f"Answer: {r.answer}" for r in rows]
    core = Tokenizer(models.BPE(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=list(specials), initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(texts, trainer)
    return core.to_str()


def make_family(name: str, folder: Path, *, chat: bool = False, pad: bool = True, dtype: str = "float32", seed: int = 0) -> Path:
    """Create and save a tiny random `name` model with its tokenizer in `folder`; returns `folder`.

    Args:
        chat: Ship a ChatML chat template, with `<|im_end|>` as the end-of-turn the generation config stops at.
        pad: Give the tokenizer a pad token (instruct tokenizers often have none).
        dtype: Save the weights in this dtype ("bfloat16" as most hub checkpoints).
    """
    import torch
    import transformers as t
    from tokenizers import Tokenizer

    specials = ("<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>")
    tokenizer = t.PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(_trained_bpe(specials)), bos_token="<s>", eos_token="</s>",
                                          unk_token="<unk>", **({"pad_token": "<pad>"} if pad else {}))
    if chat:
        tokenizer.chat_template = CHATML
    ids = {"vocab_size": len(tokenizer), "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id if pad else None}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = t.AutoModelForCausalLM.from_config(_configs(t, ids)[name]())
    if chat:  # an instruct model stops at the end of its turn
        model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")]
    model.to(getattr(torch, dtype))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
