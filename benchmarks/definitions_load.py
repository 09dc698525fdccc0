"""Cold load time of the code location (what `dagster dev` and every run pay), and proof that it
imports none of torch / transformers / ray. Target: <= 3 s on 2 cores."""

from __future__ import annotations

import argparse

from common import emit, median, run_python

LOAD = ("import time; t = time.perf_counter(); import tunix_rt_pipelines.definitions as d; d.defs.get_repository_def(); "
        "import sys; print(time.perf_counter() - t, ','.join(m for m in ('torch', 'transformers', 'ray') if m in sys.modules))")
BARE = "import time; t = time.perf_counter(); import dagster; print(time.perf_counter() - t)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    loads, heavy = [], set()
    for _ in range(args.repeats):
        seconds, *modules = run_python(LOAD).split()
        loads.append(float(seconds))
        heavy.update(m for m in ",".join(modules).split(",") if m)
    dagster_only = median([float(run_python(BARE)) for _ in range(args.repeats)])
    emit("definitions_load", {"load_seconds_median": round(median(loads), 3), "dagster_import_seconds_median": round(dagster_only, 3),
                              "ratio_to_bare_dagster_import": round(median(loads) / dagster_only, 2),
                              "heavy_modules_imported": sorted(heavy), "target_seconds": 3.0,
                              "meets_target": median(loads) <= 3.0 and not heavy}, args.json)


if __name__ == "__main__":
    main()
