"""Built-in tiny causal LMs the project creates itself, so everything runs offline.

`builtin:tiny` is a ~1M-parameter Llama with a character-level tokenizer; `builtin:tiny-gpt2`
is the same size on the GPT-2 architecture. Both are made deterministically from a seed, saved
with `save_pretrained` (safetensors) and then loaded back through the same `from_pretrained`
path as any Hugging Face model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BUILTIN_PREFIX = "builtin:"

# Printable ASCII plus newline: every character golden-v1 and the traces use.
CHARSET = [chr(c) for c in range(32, 127)] + ["\n"]
SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


@dataclass(frozen=True)
class TinySpec:
    architecture: str  # "llama" | "gpt2"
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    max_positions: int = 256


BUILTIN_MODELS: dict[str, TinySpec] = {
    "tiny": TinySpec("llama"),
    "tiny-gpt2": TinySpec("gpt2"),
}


def is_builtin(name: str) -> bool:
    return name.startswith(BUILTIN_PREFIX)


def builtin_spec(name: str) -> TinySpec:
    """The spec of `builtin:<x>`; raises ValueError naming the known models otherwise."""
    short = name.removeprefix(BUILTIN_PREFIX)
    if short not in BUILTIN_MODELS:
        known = ", ".join(BUILTIN_PREFIX + k for k in BUILTIN_MODELS)
        raise ValueError(f"unknown built-in model {name!r}; known: {known}")
    return BUILTIN_MODELS[short]


def build_char_tokenizer():
    """A character-level `PreTrainedTokenizerFast` (ids: 4 specials, then `CHARSET`); adds BOS, pads left."""
    from tokenizers import Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    specials = [SPECIAL_TOKENS[k] for k in ("pad_token", "bos_token", "eos_token", "unk_token")]
    vocab = {tok: i for i, tok in enumerate(specials + CHARSET)}
    # BPE with no merges over the whole string = one token per character.
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=SPECIAL_TOKENS["unk_token"]))
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    return PreTrainedTokenizerFast(tokenizer_object=core, padding_side="left", model_max_length=256, **SPECIAL_TOKENS)


def _config(spec: TinySpec, tokenizer):
    from transformers import GPT2Config, LlamaConfig

    ids = {"vocab_size": len(tokenizer), "bos_token_id": tokenizer.bos_token_id,
           "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    if spec.architecture == "llama":
        return LlamaConfig(hidden_size=spec.hidden, intermediate_size=4 * spec.hidden, num_hidden_layers=spec.layers,
                           num_attention_heads=spec.heads, num_key_value_heads=spec.heads,
                           max_position_embeddings=spec.max_positions, tie_word_embeddings=True, **ids)
    return GPT2Config(n_embd=spec.hidden, n_layer=spec.layers, n_head=spec.heads, n_positions=spec.max_positions,
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **ids)


def create_builtin(name: str, folder: Path, seed: int = 0) -> Path:
    """Create built-in model `name` from `seed` and save it (safetensors + tokenizer) in `folder`.

    Args:
        name: `builtin:tiny` or `builtin:tiny-gpt2`.
        folder: An empty or absent folder to save into.
        seed: Initialisation seed; the same seed gives byte-identical weights.

    Returns:
        `folder`.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    spec = builtin_spec(name)
    tokenizer = build_char_tokenizer()
    config = _config(spec, tokenizer)
    # Fork only the CPU generator: initialisation happens on the CPU, and touching CUDA's would
    # fail on machines without a driver.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
