"""`sweep_registered_model`: the sweep's best trial into the model registry, through its guarded path.

The steps, all through the registry's own API (`docs/registry.md`):
1. The candidate is the best trial's persisted checkpoint, its sha256 and its evaluation.json
   (per-item results), built with `candidate_from_evaluation`, with the same checkpoint's
   evaluation on every further declared eval set (`sweep_best_evaluation__<set>`), so the version
   records every set's score like a main-job promotion.
2. The registry's guards (`rules.all_failures`) must pass: evaluation lock, pinned golden-v1,
   evaluation consistent with the checkpoint, artifacts hashing right, each further set's
   evaluation scoring this very checkpoint on its pinned data. A failure fails the step
   loudly: the sweep produced something the registry cannot trust.
3. `gate()` (read-only) asks whether it beats the champion: the paired McNemar test on
   per-item results. Only then is it promoted (`promote()`, which re-checks everything in its
   write transaction and moves `champion`). Otherwise nothing is written and the reason is recorded.
A sweep run with force=True (the evaluation lock not checked in its run) is never promoted from
here, whatever the registry's own guards would say; `tunix-rt registry promote` can still
register its checkpoint by hand, through the same guards.
"""

import dagster as dg
from pydantic import Field, field_validator

from tunix_rt_pipelines.defs.registry.assets import REGISTRY_ERRORS, gate_check_result, registration_metadata
from tunix_rt_pipelines.defs.sweep.eval_sets import further_sweep_evaluations
from tunix_rt_pipelines.lib.pointer import Pointer
from tunix_rt_pipelines.lib.registry.candidate import candidate_from_evaluation, check_model_name, default_model_name
from tunix_rt_pipelines.lib.registry.promote import PromotionRefused
from tunix_rt_pipelines.lib.registry.rules import all_failures, refusal_message
from tunix_rt_pipelines.resources.model_registry import ModelRegistryResource
from tunix_rt_pipelines.resources.storage import ProjectStorage, data_version, materialization

BEATS_CHAMPION = "sweep_registered_model_beats_champion"


class SweepPromotionConfig(dg.Config):
    model_name: str = Field(default="", description="Registry name. Empty: tunix-rt-<base model short name>, the name the main job "
                                                    "registers under, so the sweep's best competes with that champion.")
    promoted_by: str = Field(default="", max_length=200, description="Who or what promotes, recorded on the version (at most 200 "
                                                                      "characters). Empty: dagster:<job name>.")

    @field_validator("model_name")
    @classmethod
    def _registry_name(cls, value: str) -> str:
        return check_model_name(value) if value else value


# The best trial's evaluations on the further declared eval sets are deps: the version records each one's score.
@dg.asset(group_name="sweep", kinds={"python"}, deps=["tuning_sweep", "base_checkpoint", *further_sweep_evaluations()],
          check_specs=[dg.AssetCheckSpec(BEATS_CHAMPION, asset="sweep_registered_model",
                                         description="The sweep's best trial beats the champion on paired golden-v1 items "
                                                     "(McNemar p < 0.05); only then is it registered and made champion.")])
def sweep_registered_model(context: dg.AssetExecutionContext, config: SweepPromotionConfig, storage: ProjectStorage,
                           model_registry: ModelRegistryResource):
    """The sweep's best trial as a new registry version and champion, when it beats the champion; otherwise nothing is written."""
    base_model = str(storage.upstream_metadata(context, "base_checkpoint")["model"].value)
    try:
        name = check_model_name(config.model_name) if config.model_name else default_model_name(base_model)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    sweep = {k: v.value for k, v in storage.upstream_metadata(context, "tuning_sweep").items()}
    checkpoint, evaluation = Pointer(**sweep["best_checkpoint"]), Pointer(**sweep["best_evaluation"])
    further = [storage.upstream(context, key) for key in further_sweep_evaluations()]
    sweep["further_evaluations"] = [p.model_dump() for p in further]  # recorded as pointers, whatever the outcome
    if sweep["forced"]:
        reason = ("the sweep ran with force=True (evaluation_lock not checked in its run), so its best trial is not promoted "
                  "automatically; `tunix-rt registry promote` can register it by hand through the registry's guards")
        yield from _not_promoted(sweep, name, checkpoint.sha256, reason, {})
        return
    root = storage.artifacts_root()
    candidate = candidate_from_evaluation(
        name, checkpoint.resolve(root), checkpoint.sha256, evaluation.resolve(root),
        source_asset=f"tuning_sweep/{sweep['sweep_id']}/{sweep['best_trial']}", run_id=context.run.run_id,
        data_version=data_version(materialization(context.instance, "tuning_sweep", context.run.run_id)) or "",
        promoted_by=config.promoted_by or f"dagster:{context.job_name}", further=[p.resolve(root) for p in further])
    try:
        failures, _ = all_failures(candidate, model_registry.pins())
        if failures:
            raise PromotionRefused(refusal_message(candidate, failures, False))
        verdict = model_registry.gate(candidate)
        result = model_registry.promote(candidate) if verdict.better else None
    except REGISTRY_ERRORS as exc:
        raise dg.Failure(description=f"the sweep's best trial {sweep['best_trial']} cannot be registered: {exc}", allow_retries=False) from None

    if result is None:
        yield from _not_promoted(sweep, name, candidate.checkpoint_sha256, verdict.reason, verdict.to_dict())
        return
    v = result.version
    yield dg.MaterializeResult(data_version=dg.DataVersion(f"{v.name}/v{v.version}/{v.sha256[:16]}"),
                               metadata={**_common(sweep, True, verdict.reason), **registration_metadata(result)})
    yield gate_check_result(BEATS_CHAMPION, result.gate.better, result.gate.reason, result.gate.to_dict())


def _common(sweep: dict, promoted: bool, reason: str) -> dict[str, dg.MetadataValue]:
    return {"sweep_id": dg.MetadataValue.text(sweep["sweep_id"]), "best_trial": dg.MetadataValue.text(sweep["best_trial"]),
            "best_params": dg.MetadataValue.json(sweep["best_params"]), "promoted": dg.MetadataValue.bool(promoted),
            "reason": dg.MetadataValue.text(reason),
            # the evaluations of the best trial on the further declared eval sets given to the registry ([] with none declared)
            "further_evaluations": dg.MetadataValue.json(sweep["further_evaluations"])}


def _not_promoted(sweep: dict, name: str, sha256: str, reason: str, gate: dict):
    yield dg.MaterializeResult(data_version=dg.DataVersion(f"{name}/not-promoted/{sha256[:16]}"),
                               metadata={**_common(sweep, False, reason), "model_name": dg.MetadataValue.text(name),
                                         "sha256": dg.MetadataValue.text(sha256), "gate": dg.MetadataValue.json(gate)})
    yield gate_check_result(BEATS_CHAMPION, False, reason, gate)
