"""Contract of export: the files come back byte-identical and verified; a non-empty destination is
refused; a registry copy that was tampered with is refused and nothing is written; unknown names
and versions say what exists; an exported model loads with transformers and predicts exactly as
the checkpoint that was promoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.registry.artifacts import ArtifactError
from tunix_rt_pipelines.lib.registry.promote import promote
from tunix_rt_pipelines.lib.registry.registry import Registry
from tunix_rt_pipelines.lib.registry.versions import NotFound
from tunix_rt_pipelines_tests.registry.factories import NAME, golden, make_candidate


def test_export_is_byte_identical(registry: Registry, tmp_path: Path):
    candidate = make_candidate(tmp_path, seed=1)
    promote(registry, candidate)
    version, size = registry.export(NAME, "champion", tmp_path / "out")
    source = Path(candidate.checkpoint_path)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in source.iterdir())
    assert all((tmp_path / "out" / p.name).read_bytes() == p.read_bytes() for p in source.iterdir())
    assert (version.version, size) == (1, version.size_bytes)


def test_export_into_an_existing_empty_folder_works_and_a_non_empty_one_is_refused(sqlite_registry: Registry, tmp_path: Path):
    promote(sqlite_registry, make_candidate(tmp_path, seed=1))
    (tmp_path / "empty").mkdir()
    sqlite_registry.export(NAME, 1, tmp_path / "empty")
    assert (tmp_path / "empty" / "config.json").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="exists and is not an empty folder"):
        sqlite_registry.export(NAME, 1, tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ArtifactError, match="not an empty folder"):
        sqlite_registry.export(NAME, 1, tmp_path / "a-file")



@pytest.mark.parametrize("target", ["dangling", "a-real-folder"])
def test_a_symlink_destination_is_refused_and_nothing_is_left_beside_it(sqlite_registry: Registry, tmp_path: Path, target: str):
    promote(sqlite_registry, make_candidate(tmp_path / "made", seed=1))
    out = tmp_path / "out"
    out.mkdir()
    if target == "a-real-folder":
        (tmp_path / "real").mkdir()
    (out / "link").symlink_to(tmp_path / ("real" if target == "a-real-folder" else "nowhere"))
    with pytest.raises(ArtifactError, match="is a symbolic link"):
        sqlite_registry.export(NAME, 1, out / "link")
    assert [p.name for p in out.iterdir()] == ["link"]  # no .link.tmp-* folder


def test_a_failed_final_rename_leaves_no_staging_folder(tmp_path: Path):
    from tunix_rt_pipelines.lib.files import staged_dir

    (tmp_path / "link").symlink_to(tmp_path / "nowhere")  # rename(dir, dangling symlink) fails
    with pytest.raises(OSError), staged_dir(tmp_path / "link") as tmp:
        (tmp / "f").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link"]


@pytest.mark.parametrize("tamper", ["change a byte", "delete a file", "delete the copy"])
def test_a_tampered_registry_copy_is_refused_and_nothing_is_written(sqlite_registry: Registry, tmp_path: Path, tamper: str):
    version = promote(sqlite_registry, make_candidate(tmp_path, seed=1)).version
    copy = sqlite_registry.artifact_path(version)
    if tamper == "change a byte":
        data = bytearray((copy / "model.safetensors").read_bytes())
        data[-1] ^= 1
        (copy / "model.safetensors").write_bytes(bytes(data))
    elif tamper == "delete a file":
        (copy / "tokenizer.json").unlink()
    else:
        for p in copy.iterdir():
            p.unlink()
        copy.rmdir()
    message = "registry copy is missing" if tamper == "delete the copy" else "the registry copy was modified outside the registry"
    with pytest.raises(ArtifactError, match=message):
        sqlite_registry.export(NAME, 1, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []  # no staging folder left


@pytest.mark.parametrize(("name", "ref", "message"), [
    ("nope", "1", r"no model named 'nope' in the registry \(known: tunix-rt-test\)"),
    (NAME, "2", r"tunix-rt-test has no version or alias '2': versions 1..1, aliases: champion -> v1, or latest"),
    (NAME, "production", "has no version or alias 'production'"),
])
def test_unknown_names_versions_and_aliases(sqlite_registry: Registry, tmp_path: Path, name: str, ref: str, message: str):
    promote(sqlite_registry, make_candidate(tmp_path, seed=1))
    with pytest.raises(NotFound, match=message):
        sqlite_registry.export(name, ref, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sqlite_registry.get(NAME, "v1") == sqlite_registry.get(NAME, " 1 ")


def test_round_trip_export_loads_with_transformers_and_predicts_the_same(sqlite_registry: Registry, tmp_path: Path, tiny_model_dir: Path):
    import torch

    from tunix_rt_pipelines.lib.inference.generate import generate_batched
    from tunix_rt_pipelines.lib.models.loading import load_model
    from tunix_rt_pipelines.lib.models.prompt import format_prompt

    candidate = make_candidate(tmp_path, seed=1, template=tiny_model_dir)
    promote(sqlite_registry, candidate)
    sqlite_registry.export(NAME, "champion", tmp_path / "exported")
    prompts = [format_prompt(r.prompt) for r in golden()[0][:4]]

    def predictions(folder: Path) -> tuple[list[str], torch.Tensor]:
        model, tokenizer = load_model(folder, device="cpu", dtype="float32")
        completions = generate_batched(model, tokenizer, prompts, max_new_tokens=12, batch_size=4).completions
        with torch.inference_mode():
            logits = model(**tokenizer(prompts, return_tensors="pt", padding=True)).logits  # (B, T, vocab)
        return completions, logits

    original, exported = predictions(Path(candidate.checkpoint_path)), predictions(tmp_path / "exported")
    assert exported[0] == original[0]
    assert torch.equal(exported[1], original[1])
    # ...and the comparison can tell models apart: the unperturbed base scores the prompts differently.
    assert not torch.allclose(predictions(tiny_model_dir)[1], original[1])


def test_a_lora_version_exports_whole_or_as_its_adapter_alone(sqlite_registry: Registry, tmp_path: Path):
    """The registered LoRA checkpoint carries its adapter (hashed and copied with it); `--adapter-only`
    gives a folder peft loads onto the base model, and the merged export is a plain model with the adapter beside it."""
    import torch
    from peft import PeftModel

    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.models.loading import describe_folder, load_model
    from tunix_rt_pipelines.lib.registry.candidate import candidate_from_evaluation
    from tunix_rt_pipelines.lib.training.settings import TrainSettings
    from tunix_rt_pipelines.lib.training.train import train
    from tunix_rt_pipelines_tests.models.tiny_families import make_family
    from tunix_rt_pipelines_tests.registry.factories import DATASETS, make_evaluation

    base = make_family("llama", tmp_path / "base")
    traces = read_dataset(DATASETS / "reasoning-traces-v1").rows[:32]
    result = train(base, traces, TrainSettings(max_steps=2, batch_size=8, warmup_steps=0, save_steps=100, lora={"r": 4}), tmp_path / "run")
    checkpoint = describe_folder("trained", result.model_dir)
    evaluation = make_evaluation(tmp_path / "eval", checkpoint.sha256, 10)
    promote(sqlite_registry, candidate_from_evaluation(NAME, checkpoint.path, checkpoint.sha256, evaluation, source_asset="trained_checkpoint"))

    _, size = sqlite_registry.export(NAME, "latest", tmp_path / "adapter", adapter_only=True)
    assert sorted(p.name for p in (tmp_path / "adapter").iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    assert size == sum(p.stat().st_size for p in (tmp_path / "adapter").iterdir())
    original, _ = load_model(base, device="cpu")
    adapted = PeftModel.from_pretrained(original, str(tmp_path / "adapter")).merge_and_unload()
    merged, _ = load_model(result.model_dir, device="cpu")
    assert all(torch.allclose(adapted.state_dict()[k], v, atol=1e-6) for k, v in merged.state_dict().items())

    sqlite_registry.export(NAME, "latest", tmp_path / "whole")
    assert (tmp_path / "whole" / "adapter" / "adapter_config.json").is_file() and (tmp_path / "whole" / "model.safetensors").is_file()


def test_adapter_only_export_of_a_full_fine_tune_is_refused(sqlite_registry: Registry, tmp_path: Path):
    promote(sqlite_registry, make_candidate(tmp_path, seed=1))
    with pytest.raises(ArtifactError, match="trained without LoRA, so it has no adapter"):
        sqlite_registry.export(NAME, "champion", tmp_path / "out", adapter_only=True)
    assert not (tmp_path / "out").exists()
