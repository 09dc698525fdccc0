"""Blocking data checks: a dataset that is empty, malformed, out of step with its manifest or
overlapping the golden set stops the run before any model sees it.

Each check reads the snapshot its asset recorded and puts the observed and expected values in
its metadata.
"""

import dagster as dg

from tunix_rt_pipelines.defs.datasets.assets import extra_eval_sets, golden_v1, golden_v1_calibration, training_traces
from tunix_rt_pipelines.lib.datasets.reader import Dataset
from tunix_rt_pipelines.lib.datasets.refs import overlapping_prompts, read_dataset_once
from tunix_rt_pipelines.resources.storage import ProjectStorage

_SHOWN = 10  # problems/examples listed in check metadata


def _problem_list(problems: list) -> dg.MetadataValue:
    lines = [str(p) for p in problems[:_SHOWN]] + ([f"... and {len(problems) - _SHOWN} more"] if len(problems) > _SHOWN else [])
    return dg.MetadataValue.md("\n".join(f"- `{line}`" for line in lines) or "none")


def _read(context: dg.AssetCheckExecutionContext, storage: ProjectStorage, key: dg.AssetKey) -> Dataset:
    _, folder = storage.upstream_dataset(context, key.to_user_string())
    return read_dataset_once(folder)


def build_dataset_checks(asset: dg.AssetsDefinition) -> list[dg.AssetChecksDefinition]:
    """The three contract checks every dataset asset gets: non-empty, rows valid, manifest matches."""
    name = asset.key.to_user_string()

    @dg.asset_check(asset=asset, name=f"{name}_not_empty", blocking=True, description=f"{name} has at least one row.")
    def not_empty(context: dg.AssetCheckExecutionContext, storage: ProjectStorage) -> dg.AssetCheckResult:
        data = _read(context, storage, asset.key)
        return dg.AssetCheckResult(passed=len(data.rows) > 0, metadata={"observed_rows": len(data.rows), "expected_rows": "> 0"})

    @dg.asset_check(asset=asset, name=f"{name}_rows_match_contract", blocking=True,
                    description=f"Every line of {name} is valid JSON matching the data contract, with unique ids.")
    def rows_valid(context: dg.AssetCheckExecutionContext, storage: ProjectStorage) -> dg.AssetCheckResult:
        data = _read(context, storage, asset.key)
        return dg.AssetCheckResult(
            passed=not data.problems,
            metadata={"observed_bad_lines": len({p.line for p in data.problems}), "expected_bad_lines": 0,
                      "lines": data.line_count, "problems": _problem_list(data.problems)},
        )

    @dg.asset_check(asset=asset, name=f"{name}_manifest_matches_content", blocking=True,
                    description=f"{name}'s manifest.json agrees with items.jsonl: count, sha256, composition.")
    def manifest_matches(context: dg.AssetCheckExecutionContext, storage: ProjectStorage) -> dg.AssetCheckResult:
        data = _read(context, storage, asset.key)
        m = data.manifest
        return dg.AssetCheckResult(
            passed=m is not None and not data.manifest_problems,
            metadata={"observed_count": data.line_count, "expected_count": m.count if m else -1,
                      "observed_sha256": data.sha256, "expected_sha256": m.sha256 if m else "no manifest",
                      "problems": _problem_list(data.manifest_problems)},
        )

    return [not_empty, rows_valid, manifest_matches]


EVAL_SETS = [golden_v1, *extra_eval_sets]


@dg.asset_check(asset=training_traces, additional_deps=EVAL_SETS, blocking=True,
                description="No training trace has the same normalised prompt as an item of any declared eval set.")
def training_traces_disjoint_from_golden_v1(context: dg.AssetCheckExecutionContext, storage: ProjectStorage) -> dg.AssetCheckResult:
    # The name stays as it was (checks are identified by name in run history); it covers every declared eval set.
    traces = _read(context, storage, training_traces.key).rows
    overlap = {s.key.to_user_string(): overlapping_prompts(traces, _read(context, storage, s.key).rows) for s in EVAL_SETS}
    examples = [f"- `{t}` = {name} `{g}`" for name, pairs in overlap.items() for t, g in pairs][:_SHOWN]
    return dg.AssetCheckResult(
        passed=not any(overlap.values()),
        metadata={"observed_overlap": sum(map(len, overlap.values())), "expected_overlap": 0,
                  "by_eval_set": dg.MetadataValue.json({name: len(pairs) for name, pairs in overlap.items()}),
                  "examples": dg.MetadataValue.md("\n".join(examples) or "none")},
    )


golden_v1_checks = build_dataset_checks(golden_v1)
training_traces_checks = build_dataset_checks(training_traces)
extra_eval_set_checks = [check for asset in extra_eval_sets for check in build_dataset_checks(asset)]
dataset_checks = [*golden_v1_checks, *training_traces_checks, *extra_eval_set_checks, training_traces_disjoint_from_golden_v1]
golden_v1_calibration_checks = build_dataset_checks(golden_v1_calibration)  # the judge's calibration set (defs/evaluation/judges.py)
