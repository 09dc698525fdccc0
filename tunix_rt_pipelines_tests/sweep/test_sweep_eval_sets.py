"""A sweep in a project that declares a further eval set (slow: real Ray, the smoke preset).

Contract: `sweep_smoke_job` (2 trials, 3 steps, 6 items) in a project whose `tunix_rt.yaml` declares
golden-v1 and one further set promotes its best trial with a score on both sets: the version's
further-set row is the evaluation of the very checkpoint registered (same sha256), on the set as
imported (its manifest's hash), written under the sweep's folder and pointed to from metadata, and
predicted with the settings, device and dtype the trials predicted with.

The code location reads the declaration when it loads, so the run happens in a fresh interpreter
started in the project folder, as `tunix-rt ui` would start it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.importer import import_dataset
from tunix_rt_pipelines.lib.hashing import sha256_file
from tunix_rt_pipelines.resources.model_registry import SqlModelRegistry
from tunix_rt_pipelines_tests.testing_utils import require_ray

pytestmark = [pytest.mark.slow, require_ray]

KEY, ASSET = "sums-v1", "sums_v1"

RUN = """
import json
import dagster as dg
from tunix_rt_pipelines.definitions import defs
result = defs.resolve_job_def("sweep_smoke_job").execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
mats = {e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()
                                        if isinstance(v.value, (int, float, str, bool, list, dict))}
        for e in result.get_asset_materialization_events()}
print(json.dumps({"success": result.success, "failures": failures, "materialized": mats}))
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    source = tmp_path / "sums.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"Compute {i} + {i * 3} and give the total.", "ground_truth": str(4 * i)}) + "\n"
                              for i in range(60, 84)))
    import_dataset(source, KEY, "eval", project / "datasets")
    (project / "tunix_rt.yaml").write_text(f"datasets:\n  eval_sets: [golden-v1, {KEY}]\n")
    return project


def test_a_sweep_promotes_its_best_trial_with_a_score_on_every_declared_set(tmp_path: Path):
    project = _project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("TUNIX_RT_DATASETS_DIR", "TUNIX_RT_PROJECT_FILE", "DAGSTER_HOME")}
    env.update({"TUNIX_RT_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"})  # the registry: the conftest's private one
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RUN], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    print(f"sweep_smoke_job with one further eval set: {time.perf_counter() - start:.1f}s")
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["success"], report["failures"]
    mats = report["materialized"]
    sweep, best_on_set, promoted = mats["tuning_sweep"], mats[f"sweep_best_evaluation__{ASSET}"], mats["sweep_registered_model"]
    assert promoted["promoted"] is True and promoted["version"] == 1  # a fresh registry: the first version becomes champion

    registry = SqlModelRegistry(url=env["TUNIX_RT_REGISTRY_URL"], storage_dir=env["TUNIX_RT_REGISTRY_STORE"],
                                datasets_dir=str(project / "datasets"))
    version = registry.get("tunix-rt-tiny", 1)
    assert version.sha256 == sweep["best_checkpoint_sha256"] and version.source_asset.endswith(sweep["best_trial"])
    assert [(s.dataset_key, s.is_primary) for s in version.eval_sets] == [("golden-v1", True), (KEY, False)]
    row = version.eval_sets[1]
    manifest = json.loads((project / "datasets" / KEY / "manifest.json").read_text())
    assert (row.dataset_sha256, row.n, row.evaluator) == (manifest["sha256"], 24, "answer_correctness@v1")

    # The row's evaluation (the registry's copy) scored the registered checkpoint, and is the one the sweep wrote.
    stored = Path(row.evaluation_uri.removeprefix("file://"))
    payload = json.loads(stored.read_text())
    assert payload["model_sha256"] == version.sha256 and (payload["score"], payload["n"]) == (row.score, row.n)
    artifacts = tmp_path / "home" / "artifacts"
    written = artifacts / best_on_set["artifact_path"]  # the pointer in the asset's metadata
    sweep_dir = Path(sweep["sweep_dir"])
    assert written.is_relative_to(sweep_dir / "eval_sets") and sha256_file(written) == sha256_file(stored) == row.evaluation_sha256
    assert promoted["further_evaluations"] == [{"path": best_on_set["artifact_path"], "sha256": best_on_set["artifact_sha256"]}]

    # Predicted as the trials predicted: the same generation settings, device and dtype as the best trial's own predictions.
    on_set = json.loads((artifacts / best_on_set["predictions"]["path"] / "predictions_meta.json").read_text())
    in_trial = json.loads((sweep_dir / "trials" / sweep["best_trial"] / "predictions" / "predictions_meta.json").read_text())
    assert (on_set["generation"], on_set["device"], on_set["dtype"]) == (in_trial["generation"], in_trial["device"], in_trial["dtype"])
    assert on_set["generation"]["max_items"] == 6 and on_set["dataset_sha256"] == manifest["sha256"]
