"""A project's own eval sets, end to end: a CSV and a Parquet file (different column names) are imported
with a field map, declared in `tunix_rt.yaml`, appear as assets with their blocking checks, and are
predicted, scored and compared for base and trained in the same run as golden-v1.

The code location reads the declaration when it loads, so the run happens in a fresh interpreter
started in the project folder, as `tunix-rt run` or `dagster dev` would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tunix_rt_pipelines.lib.datasets.importer import import_dataset
from tunix_rt_pipelines_tests.datasets.test_importer import _write_csv, _write_parquet
from tunix_rt_pipelines_tests.test_pipeline import SMOKE

RUN = """
import json, sys
import dagster as dg
from tunix_rt_pipelines.definitions import defs
run_config = json.loads(sys.argv[1])
graph = defs.resolve_asset_graph()
job = defs.resolve_job_def("base_vs_trained_job")
instance = dg.DagsterInstance.ephemeral()
result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
checks = {f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed for e in result.get_asset_check_evaluations()}
mats = {e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()
                                        if isinstance(v.value, (int, float, str))} for e in result.get_asset_materialization_events()}
tables = {e.asset_key.to_user_string(): {k: [r.data for r in v.value.records] for k, v in e.materialization.metadata.items()
                                          if isinstance(v.value, dg.TableMetadataValue)} for e in result.get_asset_materialization_events()}
refreshed = []
if len(sys.argv) > 2:  # then the refresh job on the same instance: it never retrains, so no training config
    refresh = defs.resolve_job_def(sys.argv[2])
    ops = {k: v for k, v in run_config["ops"].items() if k != "trained_checkpoint"}
    again = refresh.execute_in_process(instance=instance, run_config={"ops": ops}, raise_on_error=False)
    refreshed = sorted(e.asset_key.to_user_string() for e in again.get_asset_materialization_events()) if again.success else ["FAILED"]
blocking = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys if graph.get_check_spec(k).blocking)
print(json.dumps({"success": result.success, "checks": checks, "blocking": blocking, "materialized": mats, "tables": tables,
                  "refreshed": refreshed}))
"""

EXTRA_OPS = {f"{side}_predictions__{name}": {"config": {"max_new_tokens": 24}} for side in ("base", "trained") for name in ("csv_evals_v1", "pq_evals_v1")}


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    datasets = project / "datasets"
    csv_rows = [{"question": f"Compute {i} + {i * 3} and give the total.", "answer": str(4 * i), "topic": "Sums"} for i in range(20, 44)]
    pq_rows = [{"q": f"Spell the word tok{i} backwards.", "a": f"tok{i}"[::-1], "kind": "Reverse"} for i in range(24)]
    import_dataset(_write_csv(tmp_path / "evals.csv", csv_rows), "csv-evals-v1", "eval", datasets,
                   {"prompt": "question", "ground_truth": "answer", "category": "topic"})
    import_dataset(_write_parquet(tmp_path / "evals.parquet", pq_rows), "pq-evals-v1", "eval", datasets,
                   {"prompt": "q", "ground_truth": "a", "category": "kind"})
    (project / "tunix_rt.yaml").write_text("datasets:\n  eval_sets: [golden-v1, csv-evals-v1, pq-evals-v1]\n")
    return project


def test_declared_eval_sets_are_evaluated_for_base_and_trained_in_one_run(tmp_path: Path):
    project = _project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("TUNIX_RT_DATASETS_DIR", "TUNIX_RT_PROJECT_FILE", "DAGSTER_HOME")}
    env.update({"TUNIX_RT_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"})
    run_config = {"ops": {**SMOKE["ops"], **EXTRA_OPS}}
    out = subprocess.run([sys.executable, "-c", RUN, json.dumps(run_config), "evaluation_refresh_job"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["success"]
    for name in ("csv_evals_v1", "pq_evals_v1"):
        for check in ("not_empty", "rows_match_contract", "manifest_matches_content"):
            assert f"{name}:{name}_{check}" in report["blocking"] and report["checks"][f"{name}:{name}_{check}"]
        for asset in (name, f"base_predictions__{name}", f"trained_predictions__{name}", f"base_evaluation__{name}",
                      f"trained_evaluation__{name}", f"base_vs_trained__{name}"):
            assert asset in report["materialized"], asset
        base, trained = (report["materialized"][f"{side}_evaluation__{name}"] for side in ("base", "trained"))
        assert base["n"] == trained["n"] == 24 and base["dataset"] == trained["dataset"] == name.replace("_", "-")
        assert base["dataset_sha256"] == report["materialized"][name]["sha256"]
        assert f"base_vs_trained__{name}:trained_beats_base" in report["checks"]
    assert report["checks"]["training_traces:training_traces_disjoint_from_golden_v1"]
    assert report["materialized"]["golden_v1"]["dataset_key"] == "golden-v1"  # the primary set is still golden-v1
    # The registry snapshot and the leaderboard carry every declared set's score, the chosen side's, golden-v1 first (primary).
    chosen = report["materialized"]["promotion_candidate"]["chosen"].removesuffix("_checkpoint")
    recorded = report["tables"]["registered_model"]["eval_sets"]
    assert [(r["dataset"], r["primary"]) for r in recorded] == [("golden-v1", True), ("csv-evals-v1", False), ("pq-evals-v1", False)]
    for r in recorded[1:]:
        scored = report["materialized"][f"{chosen}_evaluation__{r['dataset'].replace('-', '_')}"]
        assert (r["score"], r["n"], r["dataset_sha256"]) == (scored["score"], 24, scored["dataset_sha256"][:12])
    # evaluation_refresh_job re-predicts and re-scores every declared set from the checkpoints as materialized, no training.
    chains = ["golden_v1", "base_predictions", "trained_predictions", "base_evaluation", "trained_evaluation", "base_vs_trained"]
    chains += [f"{a}{s}" for s in ("csv_evals_v1", "pq_evals_v1") for a in ("", "base_predictions__", "trained_predictions__",
                                                                             "base_evaluation__", "trained_evaluation__", "base_vs_trained__")]
    assert report["refreshed"] == sorted([*chains, "evaluation_spec"])
    board = report["tables"]["leaderboard"]["leaderboard"]
    assert len(board) == 1 and board[0]["score:csv-evals-v1"] == recorded[1]["score"] and board[0]["score:pq-evals-v1"] == recorded[2]["score"]


def test_a_training_example_in_a_declared_eval_set_blocks_the_run(tmp_path: Path):
    project = _project(tmp_path)
    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS

    leaked = read_dataset(REAL_DATASETS / "reasoning-traces-v1").rows[:20]
    rows = [{"question": t.prompt, "answer": t.answer} for t in leaked]
    import_dataset(_write_csv(tmp_path / "leak.csv", rows), "leaky-v1", "eval", project / "datasets", {"prompt": "question", "ground_truth": "answer"})
    (project / "tunix_rt.yaml").write_text("datasets:\n  eval_sets: [golden-v1, leaky-v1]\n")
    env = {k: v for k, v in os.environ.items() if k not in ("TUNIX_RT_DATASETS_DIR", "TUNIX_RT_PROJECT_FILE", "DAGSTER_HOME")}
    env.update({"TUNIX_RT_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"})
    script = RUN.replace('job = defs.resolve_job_def("base_vs_trained_job")', 'job = defs.resolve_job_def("data_quality_job")')
    out = subprocess.run([sys.executable, "-c", script, "{}"], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["checks"]["training_traces:training_traces_disjoint_from_golden_v1"] is False
    assert "leaky_v1" in report["materialized"]
