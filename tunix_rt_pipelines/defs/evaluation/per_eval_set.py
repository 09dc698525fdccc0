"""Evaluations and the comparison for every further declared eval set (`tunix_rt.yaml`).

One asset per set from a factory rather than a static partition: each set's predictions,
evaluations and comparison then carry their own data versions and code versions, so a changed
set makes exactly its own chain stale, and the primary set's chain (golden-v1, which decides
promotion) is untouched by it.
"""

import dagster as dg

from tunix_rt_pipelines.defs.evaluation.assets import run_comparison, run_evaluation
from tunix_rt_pipelines.lib.datasets.declared import asset_name, declared_datasets
from tunix_rt_pipelines.resources.storage import ProjectStorage


def eval_set_evaluations(key: str) -> list[dg.AssetsDefinition]:
    """`base_evaluation__<set>`, `trained_evaluation__<set>` and `base_vs_trained__<set>` for eval set `key`."""
    dataset = asset_name(key)

    def evaluation(side: str) -> dg.AssetsDefinition:
        @dg.asset(name=f"{side}_evaluation__{dataset}", group_name="evaluation", deps=[dataset, "evaluation_spec", f"{side}_predictions__{dataset}"],
                  kinds={"python"}, description=f"answer_correctness@v1 of the {side} model on {key}, with CI and breakdowns.")
        def scored(context: dg.AssetExecutionContext, storage: ProjectStorage) -> dg.MaterializeResult:
            return run_evaluation(context, storage, f"{side}_predictions__{dataset}", dataset)

        return scored

    name = f"base_vs_trained__{dataset}"

    @dg.asset(name=name, group_name="evaluation", deps=[f"base_evaluation__{dataset}", f"trained_evaluation__{dataset}"], kinds={"python"},
              description=f"Did fine-tuning help on {key}? Delta, flips and the exact McNemar p-value (reported; golden-v1 decides promotion).",
              check_specs=[dg.AssetCheckSpec("trained_beats_base", asset=name,
                                             description=f"The trained model scores higher than the base on {key} (McNemar p < 0.05).")])
    def comparison(context: dg.AssetExecutionContext, storage: ProjectStorage):
        yield from run_comparison(context, storage, f"base_evaluation__{dataset}", f"trained_evaluation__{dataset}")

    return [evaluation("base"), evaluation("trained"), comparison]


extra_eval_set_evaluations = [a for key in declared_datasets().extra_eval_sets for a in eval_set_evaluations(key)]
