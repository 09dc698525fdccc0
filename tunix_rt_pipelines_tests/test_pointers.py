"""Steps hand each other pointers, never Python objects.

Contract: what a run stores about its assets is plain data (text, numbers, JSON, tables,
markdown, paths), so no project class is needed to read it back; pointers are relative to the
artifact root, so after the root is moved a later run still finds every earlier output; a
downstream step run on its own reads the upstream materialization's pointer, not a value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.lib.pointer import Pointer, pointer_to
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

SMOKE = {"ops": {"base_predictions": {"config": {"max_items": 8, "max_new_tokens": 8}}}}
UPSTREAM = ["golden_v1", "evaluation_spec", "base_checkpoint", "base_predictions"]
PLAIN = (dg.TextMetadataValue, dg.IntMetadataValue, dg.FloatMetadataValue, dg.BoolMetadataValue, dg.JsonMetadataValue,
         dg.PathMetadataValue, dg.MarkdownMetadataValue, dg.TableMetadataValue, dg.NullMetadataValue)


def _materialize(instance, root: Path, selection: list[str]) -> dg.ExecuteInProcessResult:
    storage = ProjectStorage(datasets_dir=str(REAL_DATASETS), artifacts_dir=str(root))
    run_config = SMOKE if "base_predictions" in selection else None
    return dg.materialize(list(defs.assets), selection=selection, instance=instance, run_config=run_config,
                          resources={**defs.resources, "storage": storage})


def test_pointers_are_relative_inside_the_root_and_absolute_outside(tmp_path: Path):
    inside = pointer_to(tmp_path / "root" / "predictions" / "abc", tmp_path / "root", "s")
    assert inside == Pointer(path="predictions/abc", sha256="s") and not inside.external
    assert inside.resolve(tmp_path / "moved") == tmp_path / "moved" / "predictions" / "abc"
    outside = pointer_to(tmp_path / "my-model", tmp_path / "root", "s")
    assert outside.external and outside.resolve(tmp_path / "moved") == tmp_path / "my-model"  # a user's own folder stays put


def test_a_run_is_plain_data_and_survives_moving_the_artifact_root(tmp_path: Path, instance):
    first = _materialize(instance, tmp_path / "root", UPSTREAM)
    assert first.success
    for event in first.get_asset_materialization_events():
        metadata = event.step_materialization_data.materialization.metadata
        assert all(isinstance(v, PLAIN) for v in metadata.values()), event.asset_key
    recorded = first.asset_materializations_for_node("base_predictions")[0].metadata["artifact_path"].value
    assert not Path(recorded).is_absolute() and recorded.startswith("predictions/")

    shutil.move(tmp_path / "root", tmp_path / "moved")  # e.g. the shared volume is mounted elsewhere now
    later = _materialize(instance, tmp_path / "moved", ["base_evaluation"])  # its inputs come from the first run
    assert later.success
    evaluation = later.asset_materializations_for_node("base_evaluation")[0].metadata
    assert evaluation["n"].value == 100 and (tmp_path / "moved" / evaluation["artifact_path"].value).is_file()
    assert not (tmp_path / "root").exists()  # nothing was written at the old place
