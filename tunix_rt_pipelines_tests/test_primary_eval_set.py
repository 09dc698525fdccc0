"""A project whose primary eval set is its own: a CSV made here is imported as `my-evals-v1`, declared as the
only (so primary) eval set in the project's `tunix_rt.yaml`, and `tunix-rt run --smoke` runs the main job on it.

The code location reads the declaration when it loads, so every step runs in fresh interpreters started in
the project folder, exactly as a user would: `tunix-rt dataset import`, `tunix-rt run --smoke`, `tunix-rt
registry show`. The main chain (predictions, evaluations, comparison, the LLM judge's join) is wired to the
primary set under the default asset keys, and the registry version records that set's key and content hash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunix_rt_pipelines_tests.datasets.test_importer import _write_csv

GRAPH = """
import json
from tunix_rt_pipelines.definitions import defs
g = defs.resolve_asset_graph()
parents = {k: sorted(p.to_user_string() for p in g.get(__import__("dagster").AssetKey(k)).parent_keys)
           for k in ("base_predictions", "trained_predictions", "base_evaluation", "trained_evaluation",
                     "base_llm_judgement", "trained_llm_judgement")}
jobs = {j: sorted(k.to_user_string() for k in defs.resolve_job_def(j).asset_layer.selected_asset_keys)
        for j in ("data_quality_job", "evaluation_refresh_job", "base_vs_trained_job", "llm_judge_job")}
print(json.dumps({"parents": parents, "jobs": jobs}))
"""


def _cli(project: Path, env: dict, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tunix_rt_pipelines.cli.main", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_csv_declared_as_the_primary_eval_set_runs_the_smoke_main_job_and_is_recorded(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    rows = [{"question": f"Compute {i} + {i * 3} and give the total.", "answer": str(4 * i), "topic": "Sums"} for i in range(30, 54)]
    source = _write_csv(tmp_path / "my_evals.csv", rows)
    env = {k: v for k, v in os.environ.items() if k not in ("TUNIX_RT_DATASETS_DIR", "TUNIX_RT_PROJECT_FILE", "DAGSTER_HOME",
                                                            "TUNIX_RT_REGISTRY_URL", "TUNIX_RT_REGISTRY_STORE")}
    env.update({"TUNIX_RT_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"})

    imported = _cli(project, env, "dataset", "import", str(source), "--key", "my-evals-v1", "--kind", "eval",
                    "--map", "prompt=question", "--map", "ground_truth=answer", "--category", "topic")
    assert imported.returncode == 0, imported.stderr
    sha = json.loads((project / "datasets" / "my-evals-v1" / "manifest.json").read_text())["sha256"]
    (project / "tunix_rt.yaml").write_text("datasets:\n  eval_sets: [my-evals-v1]\n")

    # The wiring, from the code location as it loads in this project: the default keys read the primary set.
    graph = subprocess.run([sys.executable, "-c", GRAPH], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert graph.returncode == 0, graph.stderr[-3000:]
    wiring = json.loads(graph.stdout.splitlines()[-1])
    for asset, parents in wiring["parents"].items():
        assert "my_evals_v1" in parents and "golden_v1" not in parents, (asset, parents)
    for job in ("data_quality_job", "evaluation_refresh_job", "base_vs_trained_job", "llm_judge_job"):
        assert "my_evals_v1" in wiring["jobs"][job], job

    run = _cli(project, env, "run", "--smoke", timeout=900)
    assert run.returncode == 0, (run.stdout[-6000:], run.stderr[-3000:])

    shown = _cli(project, env, "registry", "list", "--json")
    assert shown.returncode == 0, shown.stderr
    [version] = json.loads(shown.stdout)["items"]
    assert (version["dataset_key"], version["dataset_sha256"]) == ("my-evals-v1", sha)
    assert version["n"] == 24  # every item of the primary set is scored (the smoke predicts 20; an unanswered one scores 0)
    assert [(s["dataset_key"], s["is_primary"]) for s in version["eval_sets"]] == [("my-evals-v1", True)]
    assert version["gate"]["reason"] == "no champion yet"
