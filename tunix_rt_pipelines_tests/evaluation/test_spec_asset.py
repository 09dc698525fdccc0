"""`evaluation_spec` and its blocking `evaluation_lock` check, materialized on a test instance.

Contract: on the live spec the asset materializes with `data_version` = the spec hash and the
check passes with observed = expected hash; when a rule drifts without a version bump, the
check fails (ERROR, blocking) with observed/expected metadata and the fix in its description,
and nothing downstream of `evaluation_spec` runs.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.defs.evaluation.lock_check import evaluation_lock, evaluation_spec
from tunix_rt_pipelines.lib.evaluation import lock, spec
from tunix_rt_pipelines.resources.storage import ProjectStorage


@dg.asset(deps=[evaluation_spec])
def scored_with_spec() -> int:
    """Stands in for any evaluation that must not run under drifted rules."""
    return 1


def _materialize(instance: dg.DagsterInstance, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize([evaluation_spec, evaluation_lock, scored_with_spec], instance=instance, raise_on_error=False,
                          resources={"storage": ProjectStorage()}, **kwargs)


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _started_steps(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}


def test_live_spec_passes_and_downstream_runs(instance: dg.DagsterInstance) -> None:
    result = _materialize(instance)

    assert result.success
    assert _materialized(result) == {"evaluation_spec", "scored_with_spec"}
    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed, evaluation.severity) == ("evaluation_lock", True, dg.AssetCheckSeverity.ERROR)
    pinned = lock.read_lock()
    assert evaluation.metadata["observed_sha256"].value == evaluation.metadata["expected_sha256"].value == pinned.sha256
    assert evaluation.metadata["observed_version"].value == evaluation.metadata["expected_version"].value == spec.METRIC_VERSION

    [spec_event] = result.asset_materializations_for_node("evaluation_spec")
    assert spec_event.tags["dagster/data_version"] == lock.spec_sha256() == pinned.sha256
    assert spec_event.metadata["evaluator"].value == "answer_correctness@v1"
    assert spec_event.metadata["spec"].value == spec.SPEC
    assert spec_event.metadata["sha256"].value == pinned.sha256  # what the evaluations read back


def test_drifted_spec_fails_the_check_and_blocks_downstream(instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(spec.SPEC["normalization"], "casefold", False)  # a rule edit without a version bump

    result = _materialize(instance)

    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed, evaluation.severity) == ("evaluation_lock", False, dg.AssetCheckSeverity.ERROR)
    observed, expected = evaluation.metadata["observed_sha256"].value, evaluation.metadata["expected_sha256"].value
    assert observed == lock.spec_sha256(spec.SPEC) != expected == lock.read_lock().sha256
    assert evaluation.metadata["how_to_fix"].value == lock.PIN_COMMAND
    assert "METRIC_VERSION" in evaluation.description and lock.PIN_COMMAND in evaluation.description
    # The spec itself materializes (so the UI shows the drift), but nothing built on it does.
    assert _materialized(result) == {"evaluation_spec"}
    assert "scored_with_spec" not in _started_steps(result)
    assert instance.get_latest_materialization_event(dg.AssetKey("scored_with_spec")) is None


def test_missing_lock_fails_the_check(instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lock, "LOCK_FILE", tmp_path / "absent.lock.json")

    [result] = _materialize(instance).get_asset_check_evaluations()

    assert not result.passed
    assert result.metadata["expected_sha256"].value == "none"
    assert lock.PIN_COMMAND in result.description


def test_a_stale_spec_materialization_cannot_pass(instance: dg.DagsterInstance) -> None:
    """The check compares the asset's recorded hash too: an old materialization fails even with a good lock."""
    instance.report_runless_asset_event(dg.AssetMaterialization("evaluation_spec", metadata={"sha256": "0" * 64}))

    [result] = _materialize(instance, selection=dg.AssetSelection.checks(evaluation_lock)).get_asset_check_evaluations()

    assert not result.passed
    assert result.metadata["observed_sha256"].value == "0" * 64
