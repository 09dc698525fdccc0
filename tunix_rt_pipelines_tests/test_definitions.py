"""The code location: it loads, it does not import torch/transformers/ray, its asset graph,
checks, jobs, schedules and sensors match the committed snapshot (a renamed key or a dropped
check fails here), and the repo's data-only datasets/ folder never shadows Hugging Face's package.

Update the snapshot after an intended change with: TUNIX_RT_UPDATE_SNAPSHOT=1 uv run pytest tunix_rt_pipelines_tests/test_definitions.py
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tunix_rt_pipelines.definitions import defs
from tunix_rt_pipelines_tests.testing_utils import REPO_ROOT

SNAPSHOT = Path(__file__).parent / "fixtures" / "definitions_snapshot.json"


def graph_snapshot() -> dict:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "pools": sorted(node.pools or []),
            # Derived from the source (test_code_versions.py): the snapshot records that it is, not the hash.
            "code_version": "derived" if re.fullmatch(r"[0-9a-f]{16}", node.code_version or "") else node.code_version,
        }
    checks = {}
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        spec = graph.get_check_spec(check_key)
        checks[f"{check_key.asset_key.to_user_string()}:{check_key.name}"] = {"blocking": spec.blocking}
    jobs = {}
    for job in repo.get_all_jobs():
        if job.name.startswith("__"):
            continue
        jobs[job.name] = sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
    return {
        "assets": assets,
        "checks": checks,
        "jobs": dict(sorted(jobs.items())),
        "schedules": sorted(s.name for s in repo.schedule_defs),
        "sensors": sorted(s.name for s in repo.sensor_defs),
        "resources": sorted(defs.resources or {}),
    }


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_graph_matches_snapshot():
    current = graph_snapshot()
    if os.environ.get("TUNIX_RT_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_loading_definitions_imports_no_heavy_library():
    code = ("import sys, tunix_rt_pipelines.definitions; "
            "print(','.join(m for m in ('torch', 'transformers', 'ray', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip() == ""


def test_datasets_resolves_to_hugging_face_even_beside_a_data_only_datasets_folder(tmp_path):
    (tmp_path / "datasets" / "my-set").mkdir(parents=True)  # a user's project keeps its data there
    code = "import datasets; print(datasets.__file__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert "site-packages" in out.stdout


@pytest.mark.parametrize("command", [["dagster", "definitions", "validate"], ["dg", "check", "defs"]])
def test_the_dagster_clis_validate_the_code_location(command):
    out = subprocess.run([str(Path(sys.executable).with_name(command[0])), *command[1:]], capture_output=True, text=True, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
