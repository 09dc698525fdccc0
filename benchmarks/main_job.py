"""The main job on its default config: wall time, scores, delta and p-value (bars: <= 8 min on a
2-core CPU, trained >= base + 20 points with McNemar p < 0.01), and Dagster's overhead: the
same pure functions called from a plain script (bar: Dagster <= 1.10x). Each side runs in a
fresh process with fresh artifact and Dagster folders, so both pay the same imports."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, emit


def _timed(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if out.returncode != 0:
        sys.exit(f"{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return time.perf_counter() - start, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-plain", action="store_true", help="only the Dagster run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict = {}
    if not args.skip_plain:
        tmp = tempfile.mkdtemp()
        seconds, out = _timed([sys.executable, str(REPO / "benchmarks" / "plain_pipeline.py"), str(Path(tmp) / "artifacts")], dict(os.environ))
        result["plain_script_seconds"] = round(seconds, 1)
        result["plain_script"] = json.loads(out.strip().splitlines()[-1])
    home = tempfile.mkdtemp()
    env = {**os.environ, "TUNIX_RT_HOME": home}
    env.pop("DAGSTER_HOME", None)
    seconds, _ = _timed([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "run"], env)
    result["dagster_seconds"] = round(seconds, 1)
    _, report = _timed([sys.executable, "-m", "tunix_rt_pipelines.cli.main", "report", "--json"], env)
    r = json.loads(report)
    result["dagster"] = {"base_score": r["base"]["score"], "trained_score": r["trained"]["score"], "delta": r["delta"],
                         "p_value": r["p_value"], "fixed": r["fixed"], "broken": r["broken"]}
    result["meets_quality_bar"] = r["delta"] >= 0.20 and r["p_value"] < 0.01
    result["meets_time_bar"] = seconds <= 480
    if not args.skip_plain:
        result["dagster_to_plain_ratio"] = round(seconds / result["plain_script_seconds"], 3)
    emit("main_job", result, args.json)


if __name__ == "__main__":
    main()
