"""Derived code versions (lib/code_version.py, applied in definitions.py).

Contract: every asset's code version is derived, never typed; editing the code of one lib
module changes the version of exactly the assets that run it and of everything downstream of
them, and nothing upstream; a comment- or docstring-only edit changes nothing; on a real
instance the edited asset and its downstream report STALE ("Unsynced" in the UI) while the
upstream stays FRESH.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver  # private, as docs/notes say: no public twin

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines.defs.code_versions import with_derived_code_versions
from tunix_rt_pipelines.lib.code_version import merkle
from tunix_rt_pipelines.resources.storage import ProjectStorage
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS, REPO_ROOT

GENERATE = Path("tunix_rt_pipelines") / "lib" / "inference" / "generate.py"
# The assets that run the batched decoder, and everything downstream of them.
DECODER_AND_DOWNSTREAM = {"base_predictions", "trained_predictions", "base_evaluation", "trained_evaluation", "base_vs_trained",
                          "promotion_candidate", "registered_model", "leaderboard",
                          "tuning_sweep", "sweep_registered_model",  # trials predict with the same decoder
                          # a local LLM judge replies through the same decoder, so its spec asset, calibration and verdicts move too
                          "llm_judge_spec", "llm_judge_calibration", "base_llm_judgement", "trained_llm_judgement"}
UPSTREAM = {"golden_v1", "training_traces", "golden_v1_calibration", "evaluation_spec", "base_checkpoint", "trained_checkpoint"}

PRINT_VERSIONS = ("import json; from tunix_rt_pipelines.definitions import defs; g = defs.resolve_asset_graph(); "
                  "print(json.dumps({k.to_user_string(): g.get(k).code_version for k in g.get_all_asset_keys()}))")


def versions_of(d: dg.Definitions) -> dict[str, str]:
    graph = d.resolve_asset_graph()
    return {k.to_user_string(): graph.get(k).code_version for k in graph.get_all_asset_keys()}


def versions_in_copy(tmp_path: Path, edit) -> dict[str, str]:
    """The code versions the code location reports when loaded from a copy of the package with `edit` applied."""
    copy = tmp_path / "copy"
    shutil.copytree(REPO_ROOT / "tunix_rt_pipelines", copy / "tunix_rt_pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    path = copy / GENERATE
    path.write_text(edit(path.read_text()))
    out = subprocess.run([sys.executable, "-c", PRINT_VERSIONS], capture_output=True, text=True, cwd=copy,
                         env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in before if before[k] != after[k]}


def test_every_asset_version_is_derived():
    versions = versions_of(defs)
    assert len(versions) == 20 and all(re.fullmatch(r"[0-9a-f]{16}", v) for v in versions.values())


def test_editing_a_lib_function_changes_exactly_its_assets_and_their_downstream(tmp_path: Path):
    def slower_prefill(source: str) -> str:
        assert "PREFILL_BUCKETS = 4" in source
        return source.replace("PREFILL_BUCKETS = 4", "PREFILL_BUCKETS = 5")

    after = versions_in_copy(tmp_path, slower_prefill)
    assert changed(versions_of(defs), after) == DECODER_AND_DOWNSTREAM
    assert all(versions_of(defs)[k] == after[k] for k in UPSTREAM)


def test_a_comment_or_docstring_edit_changes_nothing(tmp_path: Path):
    def comments_only(source: str) -> str:
        source = source.replace('"""Batched greedy generation', '"""(Reworded.) Batched greedy generation', 1)
        return source.replace("    import torch\n", "    import torch  # a new comment\n\n", 1)

    assert changed(versions_of(defs), versions_in_copy(tmp_path, comments_only)) == set()


def test_merkle_folds_in_every_ancestor_and_refuses_cycles():
    own = {"a": "1", "b": "2", "c": "3"}
    parents = {"b": {"a"}, "c": {"b"}}
    before = merkle(own, parents)
    after = merkle({**own, "a": "9"}, parents)
    assert {k for k in own if before[k] != after[k]} == {"a", "b", "c"}  # a grandchild too
    assert merkle({**own, "c": "9"}, parents)["a"] == before["a"]  # never upstream
    with pytest.raises(ValueError, match="cycle"):
        merkle(own, {"a": {"c"}, "b": {"a"}, "c": {"b"}})


SMOKE = {"ops": {"base_predictions": {"config": {"max_items": 8, "max_new_tokens": 8}}}}


def test_an_edit_marks_the_asset_and_its_downstream_stale_on_a_real_instance(tmp_path: Path, instance):
    storage = ProjectStorage(datasets_dir=str(REAL_DATASETS), artifacts_dir=str(tmp_path / "artifacts"))
    selection = ["golden_v1", "evaluation_spec", "base_checkpoint", "base_predictions", "base_evaluation"]
    dg.materialize(list(defs.assets), selection=selection, instance=instance, run_config=SMOKE,
                   resources={**defs.resources, "storage": storage})
    edited = with_derived_code_versions(
        defs, read=lambda path: path.read_text().replace("PREFILL_BUCKETS = 4", "PREFILL_BUCKETS = 5")
        if path.as_posix().endswith(GENERATE.as_posix()) else path.read_text())

    for definitions, stale in ((defs, set()), (edited, {"base_predictions", "base_evaluation"})):
        resolver = get_stale_status_resolver(instance, list(definitions.assets))
        status = {key: resolver.get_status(dg.AssetKey(key)) for key in selection}
        assert {k for k, s in status.items() if s == StaleStatus.STALE} == stale
        assert all(status[k] == StaleStatus.FRESH for k in set(selection) - stale)
    causes = get_stale_status_resolver(instance, list(edited.assets)).get_stale_causes(dg.AssetKey("base_evaluation"))
    assert [c.reason for c in causes] == ["has a new code version"]


def test_two_assets_in_one_file_do_not_share_an_edit():
    """The comparison's table helper sits in the same module as both evaluations: editing it moves only base_vs_trained."""
    target = Path("tunix_rt_pipelines") / "defs" / "evaluation" / "assets.py"

    def read(path: Path) -> str:
        text = path.read_text()
        return text.replace('dg.TableColumn("delta", "float")', 'dg.TableColumn("delta", "string")') if path.as_posix().endswith(
            target.as_posix()) else text

    # Nothing is downstream of the comparison, and the evaluations beside it in the file do not change.
    assert changed(versions_of(defs), versions_of(with_derived_code_versions(defs, read=read))) == {"base_vs_trained"}


def test_a_factory_made_asset_is_versioned_by_its_factory_code():
    """Assets made per declared eval set are `factory.<locals>.fn`: their code is the factory's, never nothing."""
    from tunix_rt_pipelines.defs.evaluation.per_eval_set import eval_set_evaluations
    from tunix_rt_pipelines.defs.inference.assets import base_predictions, eval_set_predictions
    from tunix_rt_pipelines.lib.code_version import VERSION_LENGTH, function_code_version

    def version(assets_def: dg.AssetsDefinition) -> str:
        return function_code_version(assets_def.op.compute_fn.decorated_fn)

    base, trained = eval_set_predictions("my-evals-v1")
    nothing = hashlib.sha256(b"").hexdigest()[:VERSION_LENGTH]
    assert version(base) == version(trained) == function_code_version(eval_set_predictions) != nothing
    assert version(base) != version(base_predictions)  # the factory's closure includes run_predictions and more
    assert len({version(a) for a in eval_set_evaluations("my-evals-v1")}) == 1
