"""Contract of the registry assets in a Dagster run: the better of base and trained is promoted
with its run id and data version; the guards are blocking checks that stop the write (no row, no
file) and honour force; a repeat run registers nothing new; the leaderboard is a table; the main
job carries all of it. Upstream checkpoints and evaluations are stand-ins that return real refs to
files made by the factories, recording the same pointer metadata the real assets record;
`evaluation_spec` and its lock check are the real ones."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.defs.evaluation.lock_check import evaluation_lock, evaluation_spec
from tunix_rt_pipelines.defs.registry import checks
from tunix_rt_pipelines.defs.registry.assets import BEATS_CHAMPION, leaderboard, promotion_candidate, registered_model
from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.resources.model_registry import EphemeralModelRegistry, SqlModelRegistry
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.registry.factories import DATASETS, make_checkpoint, make_evaluation

GUARDS = [checks.promotion_candidate_lock_passed, checks.promotion_candidate_on_pinned_golden, checks.promotion_candidate_artifacts_match]


def _stand_in(name: str, metadata: dict, data_version: str | None = None, deps: list | None = None) -> dg.AssetsDefinition:
    @dg.asset(name=name, deps=deps or [])
    def _asset() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(data_version) if data_version else None)

    return _asset


def stand_ins(tmp_path: Path, base_correct: int, trained_correct: int) -> tuple[list[dg.AssetsDefinition], dict[str, tuple[Path, str]]]:
    """base/trained checkpoint and evaluation assets over real files (evaluations after the lock, as in the graph)."""
    storage, assets, made = _storage(tmp_path), [], {}
    for label, seed, correct in (("base", 1, base_correct), ("trained", 2, trained_correct)):
        folder, sha = make_checkpoint(tmp_path / label, seed)
        made[label] = (folder, sha)
        evaluation = make_evaluation(tmp_path / f"{label}-eval", sha, correct).path
        model = {"model": "builtin:tiny" + ("+sft" if label == "trained" else "")}
        assets += [_stand_in(f"{label}_checkpoint", {**model, **storage.pointer_metadata(folder, sha)}, data_version=sha),
                   _stand_in(f"{label}_evaluation", storage.pointer_metadata(evaluation, sha256_file(evaluation)), deps=[evaluation_spec])]
    return assets, made


def _storage(tmp_path: Path) -> ProjectStorage:
    return ProjectStorage(datasets_dir=str(DATASETS), artifacts_dir=str(tmp_path))


def run(tmp_path: Path, assets, resource, instance, *, config: dict | None = None, with_lock: bool = True) -> dg.ExecuteInProcessResult:
    lock = [evaluation_spec, evaluation_lock] if with_lock else []
    run_config = {"ops": {"promotion_candidate": {"config": config}}} if config else None
    return dg.materialize([*assets, *lock, promotion_candidate, *GUARDS, registered_model, leaderboard], instance=instance,
                          resources={"model_registry": resource, "storage": _storage(tmp_path)}, run_config=run_config, raise_on_error=False)


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()}


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(asset)[0].metadata.items()}


def test_the_better_model_is_registered_with_its_provenance(tmp_path: Path, instance):
    assets, refs = stand_ins(tmp_path, base_correct=20, trained_correct=60)
    resource = SqlModelRegistry(url=f"sqlite:///{tmp_path / 'registry.db'}", storage_dir=str(tmp_path / "store"), datasets_dir=str(DATASETS))
    result = run(tmp_path, assets, resource, instance)
    assert result.success
    assert checks_of(result) == {"evaluation_lock": (True, "ERROR"), checks.LOCK_CHECK: (True, "ERROR"),
                                 checks.GOLDEN_CHECK: (True, "ERROR"), checks.ARTIFACTS_CHECK: (True, "ERROR"),
                                 BEATS_CHAMPION: (True, "WARN")}
    assert metadata(result, "promotion_candidate")["chosen"] == "trained_checkpoint"
    shown = metadata(result, "registered_model")
    assert (shown["model_name"], shown["version"], shown["created"], shown["sha256"]) == ("tunix-rt-tiny", 1, True, refs["trained"][1])
    assert shown["uri"] == (tmp_path / "store" / "artifacts" / refs["trained"][1]).as_uri()
    assert [r.data["category"] for r in shown["metrics"].records][:2] == ["all", "addition"]
    assert [(r.data["alias"], r.data["to_version"]) for r in shown["alias_moves"].records] == [("champion", 1)]
    v = resource.open().get("tunix-rt-tiny", "champion")
    assert (v.source_asset, v.run_id, v.data_version, v.score, v.promoted_by) == (
        "trained_checkpoint", result.run_id, refs["trained"][1], 0.6, "dagster:__ephemeral_asset_job__")
    board = metadata(result, "leaderboard")
    assert board["dagster/row_count"] == 1 and board["leaderboard"].records[0].data["version"] == 1

    again = run(tmp_path, assets, resource, instance)  # the same models: nothing new
    assert again.success
    assert (metadata(again, "registered_model")["version"], metadata(again, "registered_model")["created"]) == (1, False)
    assert resource.open().versions("tunix-rt-tiny").total == 1


def test_a_base_that_scores_higher_is_the_one_promoted(tmp_path: Path, instance):
    assets, refs = stand_ins(tmp_path, base_correct=50, trained_correct=40)
    resource = EphemeralModelRegistry(key="base-wins", datasets_dir=str(DATASETS))
    result = run(tmp_path, assets, resource, instance, config={"model_name": "tunix-rt-custom"})
    assert result.success
    assert resource.open().get("tunix-rt-custom", "latest").sha256 == refs["base"][1]


def test_a_failing_guard_blocks_the_write(tmp_path: Path, instance):
    assets, refs = stand_ins(tmp_path, base_correct=20, trained_correct=60)
    for p in refs["trained"][0].iterdir():  # the chosen checkpoint vanished after it was evaluated
        p.unlink()
    resource = EphemeralModelRegistry(key="blocked", datasets_dir=str(DATASETS))
    result = run(tmp_path, assets, resource, instance, config={"force": True})  # not even force: artifacts are not overridable
    assert not result.success
    assert checks_of(result)[checks.ARTIFACTS_CHECK] == (False, "ERROR")
    assert result.asset_materializations_for_node("registered_model") == []
    registry = resource.open()
    assert registry.names() == [] and not (registry.root / "artifacts").exists()


def test_force_turns_an_overridable_guard_into_a_warning_and_is_recorded(tmp_path: Path, instance):
    assets, refs = stand_ins(tmp_path, base_correct=20, trained_correct=60)
    evaluation = tmp_path / "trained-eval" / "evaluation.json"
    evaluation.write_text(json.dumps({**json.loads(evaluation.read_text()), "dataset_sha256": "0" * 64}))
    resource = EphemeralModelRegistry(key="forced", datasets_dir=str(DATASETS))
    blocked = run(tmp_path, assets, resource, instance)
    assert (blocked.success, checks_of(blocked)[checks.GOLDEN_CHECK]) == (False, (False, "ERROR"))
    assert resource.open().names() == []
    forced = run(tmp_path, assets, resource, instance, config={"force": True})
    assert forced.success
    assert checks_of(forced)[checks.GOLDEN_CHECK] == (False, "WARN")
    assert checks_of(forced)[BEATS_CHAMPION] == (False, "WARN")  # forced: never champion
    v = resource.open().get("tunix-rt-tiny", 1)
    assert (v.forced, [o["guard"] for o in v.overridden], v.aliases) == (True, ["pinned_golden"], ())


def test_without_the_lock_in_the_run_promotion_is_blocked(tmp_path: Path, instance):
    assets, _ = stand_ins(tmp_path, base_correct=20, trained_correct=60)
    resource = EphemeralModelRegistry(key="no-lock", datasets_dir=str(DATASETS))
    result = run(tmp_path, assets, resource, instance, with_lock=False)
    assert not result.success
    assert checks_of(result)[checks.LOCK_CHECK] == (False, "ERROR")
    assert resource.open().names() == []


@pytest.mark.parametrize(("base", "name"), [("builtin:tiny", "tunix-rt-tiny"), ("Qwen/Qwen2.5-0.5B-Instruct", "tunix-rt-qwen2.5-0.5b-instruct"),
                                            ("/models/My Model/", "tunix-rt-my-model")])
def test_default_model_names(base: str, name: str):
    from tunix_rt_pipelines.lib.registry.candidate import default_model_name

    assert default_model_name(base) == name


def test_the_main_job_registers_and_ranks_under_its_guards():
    from tunix_rt_pipelines.definitions import defs
    from tunix_rt_pipelines.defs.resources import build_resources

    job = defs.resolve_job_def("base_vs_trained_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"base_vs_trained", "promotion_candidate", "registered_model", "leaderboard", "evaluation_spec"} <= keys
    check_names = {k.name for k in job.asset_layer.asset_graph.asset_check_keys}
    assert {checks.LOCK_CHECK, checks.GOLDEN_CHECK, checks.ARTIFACTS_CHECK, BEATS_CHAMPION, "evaluation_lock"} <= check_names
    guard_specs = [spec for guard in GUARDS for spec in guard.check_specs]
    assert {spec.name for spec in guard_specs} == {checks.LOCK_CHECK, checks.GOLDEN_CHECK, checks.ARTIFACTS_CHECK}
    assert all(spec.blocking for spec in guard_specs)
    graph = job.asset_layer.asset_graph  # and blocking as the job sees them
    assert all(graph.get_check_spec(key).blocking for key in graph.asset_check_keys if key.name in {s.name for s in guard_specs})
    assert isinstance(build_resources()["model_registry"], SqlModelRegistry)
