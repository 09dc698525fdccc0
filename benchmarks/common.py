"""Small helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATASETS = REPO / "tunix_rt_pipelines" / "builtin_datasets"  # golden-v1 and the trace sets as shipped


def machine() -> dict:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}


def median(values: list[float]) -> float:
    return statistics.median(values)


def emit(name: str, result: dict, as_json: bool) -> None:
    payload = {"benchmark": name, **result, "machine": machine()}
    print(json.dumps(payload) if as_json else "\n".join(f"{k}: {v}" for k, v in payload.items()))


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
