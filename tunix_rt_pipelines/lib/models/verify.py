"""The whole model folder checked at `base_checkpoint`, so nothing downstream starts on a broken model.

`check_model_folder` (loading.py) looks for the right files; this reads them:

- every `*.safetensors` file (`loading.safetensors_shapes`): its header parses, each tensor's byte range matches its dtype and
  shape, and the file is exactly as long as the header says (a truncated download fails here,
  not 40 s later in `base_predictions`);
- the stored shapes against the architecture the config declares (built on the meta device: no
  memory, no weights loaded), tensor by tensor where the names match;
- the tokenizer loads, with remote code never trusted.

A folder holding both pickle and safetensors weights is accepted (only safetensors are ever
loaded), and `verify_model_folder` says the pickle was ignored.
"""

from __future__ import annotations

from pathlib import Path

from tunix_rt_pipelines.lib.models.loading import PICKLE_WEIGHTS, ModelLoadError, check_model_folder, safetensors_shapes


def _architecture_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape of the architecture config.json declares, built on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    except Exception as exc:  # unknown model_type, remote code asked for, garbage values: all "config.json is unusable"
        raise ModelLoadError(f"{folder}/config.json: does not describe a causal LM transformers can build without remote code: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _check_tokenizer(folder: Path) -> None:
    from transformers import AutoTokenizer

    try:
        AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except Exception as exc:  # a garbage tokenizer.json raises anything from Exception to ValueError
        raise ModelLoadError(f"{folder}: the tokenizer cannot be loaded (remote code is never run): "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                             "save it again with tokenizer.save_pretrained(folder)") from None


def verify_model_folder(folder: Path) -> list[str]:
    """Read and check everything a model folder holds (see the module docstring).

    Returns:
        Notes for the metadata (e.g. a pickle file that was ignored); empty when there is nothing to say.

    Raises:
        ModelLoadError: The first problem found, with the file and what to do.
    """
    check_model_folder(folder)
    stored: dict[str, tuple[int, ...]] = {}
    for path in sorted(folder.glob("*.safetensors")):
        stored.update(safetensors_shapes(path))
    declared = _architecture_shapes(folder)
    matched = [name for name in stored if name in declared]
    if declared and stored and not matched:
        raise ModelLoadError(f"{folder}: none of the {len(stored)} stored tensors is a parameter of the architecture config.json "
                             f"declares (e.g. {next(iter(stored))!r}); the weights and config.json do not belong together")
    wrong = [f"{n} {list(stored[n])} (config.json declares {list(declared[n])})" for n in matched if stored[n] != declared[n]]
    if wrong:
        raise ModelLoadError(f"{folder}: {len(wrong)} stored tensor(s) do not have the shape config.json declares: {wrong[0]}"
                             f"{' and more' if len(wrong) > 1 else ''}; the weights and config.json do not belong together")
    _check_tokenizer(folder)
    pickles = [name for name in PICKLE_WEIGHTS if (folder / name).exists()]
    return [f"{', '.join(pickles)} ignored: pickle weights are never loaded, the safetensors weights are used"] if pickles else []
