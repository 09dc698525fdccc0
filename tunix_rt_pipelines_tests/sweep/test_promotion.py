"""sweep_registered_model: the sweep's best trial goes through the registry's guarded path and is
registered only when it beats the champion (paired test); otherwise nothing is written; a forced
sweep never promotes; a best trial the guards refuse fails the step."""

from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.resources.model_registry import SqlModelRegistry
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.registry import factories

DATASETS, make_candidate, make_checkpoint, make_evaluation = (factories.DATASETS, factories.make_candidate, factories.make_checkpoint,
                                                              factories.make_evaluation)

NAME = "tunix-rt-tiny"  # default_model_name("builtin:tiny"): the main job's registry name


def best_trial(tmp_path: Path, seed: int, correct: int, **overrides) -> dict:
    """What tuning_sweep records of a sweep whose best trial is a real checkpoint with a real evaluation of it."""
    folder, sha = make_checkpoint(tmp_path / f"trial-{seed}", seed)
    evaluation = make_evaluation(tmp_path / f"trial-{seed}-eval", sha, correct)
    storage = ProjectStorage(artifacts_dir=str(tmp_path))
    metadata = {"sweep_id": "s1", "best_trial": f"abc_0000{seed}", "best_params": dg.MetadataValue.json({"learning_rate": 0.003}),
                "best_checkpoint": dg.MetadataValue.json(storage.pointer(folder, sha).model_dump()),
                "best_evaluation": dg.MetadataValue.json(storage.pointer(evaluation.path, sha256_file(evaluation.path)).model_dump()),
                "forced": False}
    return {**metadata, **overrides}


def promote_sweep(tmp_path: Path, instance, registry, sweep: dict):
    """Run sweep_registered_model on `sweep` (its upstream assets stubbed with the metadata the real ones record)."""
    from tunix_rt_pipelines.defs.sweep.promotion import sweep_registered_model

    @dg.asset(name="tuning_sweep")
    def stub_sweep() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=sweep)

    @dg.asset(name="base_checkpoint")
    def stub_base() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"model": "builtin:tiny"})

    return dg.materialize([stub_sweep, stub_base, sweep_registered_model], instance=instance, raise_on_error=False,
                          resources={"model_registry": registry, "storage": ProjectStorage(artifacts_dir=str(tmp_path))})


@pytest.fixture
def registry(tmp_path):
    return SqlModelRegistry(url=f"sqlite:///{tmp_path / 'registry.db'}", storage_dir=str(tmp_path / "store"), datasets_dir=str(DATASETS))


def outcome(result) -> tuple[dict, bool]:
    from tunix_rt_pipelines.defs.sweep.promotion import BEATS_CHAMPION

    metadata = {k: v.value for k, v in result.asset_materializations_for_node("sweep_registered_model")[0].metadata.items()}
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == BEATS_CHAMPION]
    return metadata, check.passed


def test_first_model_becomes_champion(tmp_path, instance, registry):
    result = promote_sweep(tmp_path, instance, registry, best_trial(tmp_path, 1, correct=40))
    assert result.success
    metadata, beats = outcome(result)
    assert beats and metadata["promoted"] is True and metadata["version"] == 1 and metadata["aliases"] == "champion"
    assert metadata["reason"] == "no champion yet"
    assert metadata["further_evaluations"] == []  # no further eval set declared: nothing but the primary set's score
    version = registry.get(NAME, "champion")
    assert version.source_asset == "tuning_sweep/s1/abc_00001" and version.score == 0.4


def test_better_than_champion_is_promoted(tmp_path, instance, registry):
    registry.promote(make_candidate(tmp_path / "main", 7, correct=50, name=NAME))  # the main job's champion
    result = promote_sweep(tmp_path, instance, registry, best_trial(tmp_path, 2, correct=80))
    metadata, beats = outcome(result)
    assert beats and metadata["promoted"] is True and metadata["version"] == 2
    assert "better than champion v1" in metadata["reason"]
    assert registry.get(NAME, "champion").version == 2


def test_not_better_is_not_registered(tmp_path, instance, registry):
    registry.promote(make_candidate(tmp_path / "main", 7, correct=50, name=NAME))
    result = promote_sweep(tmp_path, instance, registry, best_trial(tmp_path, 3, correct=52))
    assert result.success
    metadata, beats = outcome(result)
    assert not beats and metadata["promoted"] is False
    assert "not significantly better than champion v1" in metadata["reason"]
    assert registry.leaderboard(NAME).total == 1 and registry.get(NAME, "champion").version == 1  # nothing written


def test_forced_sweep_never_promotes(tmp_path, instance, registry):
    result = promote_sweep(tmp_path, instance, registry, best_trial(tmp_path, 4, correct=90, forced=True))
    metadata, beats = outcome(result)
    assert not beats and metadata["promoted"] is False and "the sweep ran with force=True" in metadata["reason"]
    assert registry.open().names() == []  # the registry was not even asked


def test_refused_best_trial_fails_loudly(tmp_path, instance, registry):
    sweep = best_trial(tmp_path, 5, correct=60)
    _, other_sha = make_checkpoint(tmp_path / "other", 99)
    pointer = {**sweep["best_checkpoint"].value, "sha256": other_sha}  # the checkpoint is not the model the trial scored
    result = promote_sweep(tmp_path, instance, registry, {**sweep, "best_checkpoint": dg.MetadataValue.json(pointer)})
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
    assert "the sweep's best trial abc_00005 cannot be registered" in failure
    assert registry.open().names() == []


@pytest.mark.slow
def test_sweep_job_promotes_its_best_trial_end_to_end(tmp_path, tiny_model_dir, instance):
    """Real Ray, real trials: the best trial becomes the first champion, from Ray's persisted checkpoint."""
    from tunix_rt_pipelines_tests.sweep.test_sweep_ray import resources, run_sweep_job, smoke_config, sweep_metadata

    registry = SqlModelRegistry(url=f"sqlite:///{tmp_path / 'e2e.db'}", storage_dir=str(tmp_path / "e2e-store"), datasets_dir=str(DATASETS))
    result = run_sweep_job(instance, {**resources(tmp_path, tiny_model_dir), "model_registry": registry}, smoke_config())
    assert result.success
    sweep = sweep_metadata(result)
    metadata, beats = outcome(result)
    assert beats and metadata["promoted"] is True and metadata["version"] == 1
    champion = registry.get(NAME, "champion")
    assert champion.sha256 == sweep["best_checkpoint_sha256"]
    assert champion.source_asset == f"tuning_sweep/{sweep['sweep_id']}/{sweep['best_trial']}"
    assert champion.score == sweep["best_score"] and champion.training_config["learning_rate"] == sweep["best_params"]["learning_rate"]
