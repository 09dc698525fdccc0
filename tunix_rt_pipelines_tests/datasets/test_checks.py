"""Dataset assets and their blocking checks, materialized on a test instance.

Contract: `golden_v1` and `training_traces` materialize with `data_version` = the content hash
(the same on identical data), a code version, and metadata (row count, sha256, path, composition
table). Their ERROR-severity blocking checks (`<asset>_not_empty`, `<asset>_rows_match_contract`,
`<asset>_manifest_matches_content`, `training_traces_disjoint_from_golden_v1`) all pass on the
committed data with observed and expected values in their metadata. On broken data exactly the
check for that fault fails, the run fails, and nothing downstream of the dataset runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.defs.datasets.assets import golden_v1, training_traces
from tunix_rt_pipelines.defs.datasets.checks import dataset_checks
from tunix_rt_pipelines.lib.datasets.generate import make_manifest, write_dataset
from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.resources.storage import ProjectStorage

GOLDEN_CHECKS = {"golden_v1_not_empty", "golden_v1_rows_match_contract", "golden_v1_manifest_matches_content"}
TRACES_CHECKS = {"training_traces_not_empty", "training_traces_rows_match_contract",
                 "training_traces_manifest_matches_content", "training_traces_disjoint_from_golden_v1"}


@pytest.fixture(scope="module")
def shared_instance() -> Iterator[dg.DagsterInstance]:
    """One SQLite test instance for the module (each costs ~2 s to create on 2 cores); every
    assertion below reads its own run's result, so runs cannot see each other."""
    with dg.instance_for_test() as inst:
        yield inst


@dg.asset(deps=[golden_v1])
def uses_golden() -> int:
    """Stands in for anything that reads golden-v1 (predictions, evaluations)."""
    return 1


@dg.asset(deps=[training_traces])
def uses_traces() -> int:
    """Stands in for anything that trains on the traces."""
    return 1


def _checks_of(*assets: dg.AssetsDefinition) -> list[dg.AssetChecksDefinition]:
    keys = {a.key for a in assets}
    return [c for c in dataset_checks if {spec.asset_key for spec in c.check_specs} <= keys]


def _run(instance: dg.DagsterInstance, datasets_dir: Path | str, tmp_path: Path, *assets: dg.AssetsDefinition) -> dg.ExecuteInProcessResult:
    storage = ProjectStorage(datasets_dir=str(datasets_dir), artifacts_dir=str(tmp_path / "a"))
    return dg.materialize([*assets, *_checks_of(*assets)], instance=instance, resources={"storage": storage}, raise_on_error=False)


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _meta(evaluation: dg.AssetCheckEvaluation) -> dict[str, object]:
    return {k: v.value for k, v in evaluation.metadata.items()}


def test_every_dataset_check_is_blocking() -> None:
    specs = [spec for c in dataset_checks for spec in c.check_specs]
    assert {s.name for s in specs} == GOLDEN_CHECKS | TRACES_CHECKS
    assert all(s.blocking for s in specs)


def test_real_data_passes_every_check_with_observed_and_expected(shared_instance: dg.DagsterInstance, storage: ProjectStorage) -> None:
    result = dg.materialize([golden_v1, training_traces, *dataset_checks, uses_golden, uses_traces],
                            instance=shared_instance, resources={"storage": storage})

    assert result.success
    evaluations = _evaluations(result)
    assert set(evaluations) == GOLDEN_CHECKS | TRACES_CHECKS
    assert all(e.passed and e.severity == dg.AssetCheckSeverity.ERROR for e in evaluations.values())
    for asset, rows in (("golden_v1", 100), ("training_traces", 6000)):
        assert _meta(evaluations[f"{asset}_not_empty"]) == {"observed_rows": rows, "expected_rows": "> 0"}
        contract = _meta(evaluations[f"{asset}_rows_match_contract"])
        assert (contract["observed_bad_lines"], contract["expected_bad_lines"], contract["lines"]) == (0, 0, rows)
        manifest = _meta(evaluations[f"{asset}_manifest_matches_content"])
        assert manifest["observed_count"] == manifest["expected_count"] == rows
        assert manifest["observed_sha256"] == manifest["expected_sha256"]
    overlap = _meta(evaluations["training_traces_disjoint_from_golden_v1"])
    assert (overlap["observed_overlap"], overlap["expected_overlap"]) == (0, 0)
    assert _materialized(result) == {"golden_v1", "training_traces", "uses_golden", "uses_traces"}

    # Identical data, materialized again: the same content-hash version, so nothing goes stale.
    again = dg.materialize([golden_v1, training_traces], instance=shared_instance, resources={"storage": storage})
    for key in ("golden-v1", "reasoning-traces-v2"):
        node = {"golden-v1": "golden_v1", "reasoning-traces-v2": "training_traces"}[key]
        sha = json.loads((storage.dataset_path(key) / "manifest.json").read_text())["sha256"]
        [first] = result.asset_materializations_for_node(node)
        [second] = again.asset_materializations_for_node(node)
        assert first.tags["dagster/data_version"] == second.tags["dagster/data_version"] == sha


@pytest.mark.parametrize(("node", "key", "rows"), [("golden_v1", "golden-v1", 100), ("training_traces", "reasoning-traces-v2", 6000)])
def test_dataset_metadata(storage: ProjectStorage, node: str, key: str, rows: int) -> None:
    from tunix_rt_pipelines.definitions import defs

    asset = defs.get_assets_def(node)  # as the code location has it: with its derived code version
    manifest = json.loads((storage.dataset_path(key) / "manifest.json").read_text())

    [event] = dg.materialize([asset], resources={"storage": storage}).asset_materializations_for_node(node)

    assert event.tags["dagster/code_version"] == asset.code_versions_by_key[asset.key] and len(asset.code_versions_by_key[asset.key]) == 16
    assert event.metadata["dagster/row_count"].value == rows
    assert event.metadata["sha256"].value == manifest["sha256"]
    assert event.metadata["problems"].value == 0
    table = event.metadata["composition"].value
    assert [c.name for c in table.schema.columns] == ["category", "easy", "medium", "hard", "total"]
    cells = {f"{r.data['category']}/{d}": r.data[d] for r in table.records for d in ("easy", "medium", "hard") if r.data[d]}
    assert cells == manifest["composition"]["by_category_difficulty"]
    assert {r.data["category"]: r.data["total"] for r in table.records} == manifest["composition"]["by_category"]


def test_the_pointer_is_a_snapshot_under_the_artifact_root(storage: ProjectStorage) -> None:
    [event] = dg.materialize([golden_v1], resources={"storage": storage}).asset_materializations_for_node("golden_v1")
    assert event.metadata["source"].value == str(storage.dataset_path("golden-v1"))
    relative = event.metadata["artifact_path"].value
    assert relative.startswith("datasets/") and relative.endswith("/golden-v1")  # relative: the root may move
    snapshot = storage.artifacts_root() / relative
    for name in ("items.jsonl", "manifest.json"):
        assert (snapshot / name).read_bytes() == (storage.dataset_path("golden-v1") / name).read_bytes()


# --- broken copies: exactly one fault each -----------------------------------------------


def _rewrite_manifest_to_match(folder: Path) -> None:
    """Make manifest.json agree with whatever items.jsonl now holds (so only the row check can fail)."""
    data = read_dataset(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(count=data.line_count, sha256=data.sha256)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _empty_items(datasets: Path) -> None:
    folder = datasets / "golden-v1"
    (folder / "items.jsonl").write_bytes(b"")
    write_dataset(folder, [], make_manifest("golden-v1", "eval", [], seed=0))


def _malformed_line(datasets: Path) -> None:
    folder = datasets / "golden-v1"
    lines = (folder / "items.jsonl").read_bytes().splitlines(keepends=True)
    lines[41] = b'{"id": "g1-x", "prompt": \n'
    (folder / "items.jsonl").write_bytes(b"".join(lines))
    _rewrite_manifest_to_match(folder)


def _manifest_sha_mismatch(datasets: Path) -> None:
    path = datasets / "golden-v1" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["sha256"] = "f" * 64
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize(
    ("corrupt", "failing", "evidence"),
    [
        (_empty_items, {"golden_v1_not_empty", "golden_v1_rows_match_contract"},          # empty (manifest says 0 too)
         {"golden_v1_not_empty": {"observed_rows": 0, "expected_rows": "> 0"}}),
        (_malformed_line, {"golden_v1_rows_match_contract"},                               # one bad line, manifest re-hashed
         {"golden_v1_rows_match_contract": {"observed_bad_lines": 1, "expected_bad_lines": 0, "problems":
          "- `golden-v1/items.jsonl:42: <json>: invalid JSON at column 26: Expecting value`"}}),
        (_manifest_sha_mismatch, {"golden_v1_manifest_matches_content"},                   # items intact, manifest hash wrong
         {"golden_v1_manifest_matches_content": {"expected_sha256": "f" * 64}}),
    ],
    ids=["empty", "malformed-line", "manifest-sha"],
)
def test_broken_golden_fails_its_check_and_blocks_downstream(
    shared_instance: dg.DagsterInstance, datasets_copy: Path, tmp_path: Path,
    corrupt: Callable[[Path], None], failing: set[str], evidence: dict[str, dict[str, object]],
) -> None:
    corrupt(datasets_copy)

    result = _run(shared_instance, datasets_copy, tmp_path, golden_v1, uses_golden)

    assert not result.success
    evaluations = _evaluations(result)
    assert {name for name, e in evaluations.items() if not e.passed} == failing
    assert all(evaluations[name].severity == dg.AssetCheckSeverity.ERROR for name in failing)
    for name, expected in evidence.items():
        assert _meta(evaluations[name]).items() >= expected.items()
    # The dataset itself materializes so the UI can show what is wrong; nothing downstream runs.
    assert _materialized(result) == {"golden_v1"}
    assert not any(e.event_type_value == "STEP_START" and e.step_key == "uses_golden" for e in result.all_events)


def test_trace_with_a_golden_prompt_fails_the_overlap_check(shared_instance: dg.DagsterInstance, datasets_copy: Path, tmp_path: Path) -> None:
    golden = read_dataset(datasets_copy / "golden-v1").rows
    traces = read_dataset(datasets_copy / "reasoning-traces-v2").rows[:300]  # a small, valid traces set keeps this fast
    leaked = golden[5]
    traces[7] = traces[7].model_copy(update={"prompt": leaked.prompt.upper()})  # same prompt after normalisation
    folder = datasets_copy / "reasoning-traces-v2"
    write_dataset(folder, traces, make_manifest("reasoning-traces-v2", "traces", traces, seed=0))

    result = _run(shared_instance, datasets_copy, tmp_path, golden_v1, training_traces, uses_traces)

    assert not result.success
    evaluations = _evaluations(result)
    assert {name for name, e in evaluations.items() if not e.passed} == {"training_traces_disjoint_from_golden_v1"}
    overlap = evaluations["training_traces_disjoint_from_golden_v1"]
    assert overlap.severity == dg.AssetCheckSeverity.ERROR
    meta = _meta(overlap)
    assert (meta["observed_overlap"], meta["expected_overlap"]) == (1, 0)
    assert f"`{traces[7].id}` = golden_v1 `{leaked.id}`" in meta["examples"]
    assert meta["by_eval_set"] == {"golden_v1": 1}
    assert "uses_traces" not in _materialized(result)
