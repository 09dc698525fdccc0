"""`promotion_candidate` -> `registered_model` -> `leaderboard`: the registry end of the main job.

A blocking check runs after its asset, so it cannot stop that asset's own write. The guards
therefore sit on `promotion_candidate`, which writes nothing, and `registered_model` (the
write) runs only when they pass. `promote()` enforces the same rules again, for the CLI and
sweeps.
"""

import hashlib
import json

import dagster as dg
from pydantic import Field, field_validator

from tunix_rt_pipelines.defs.metadata import breakdown_table, cell, p_value, rounded
from tunix_rt_pipelines.lib.datasets.declared import asset_name, declared_datasets
from tunix_rt_pipelines.lib.evaluation.best import rank
from tunix_rt_pipelines.lib.evaluation.evaluate import read_evaluation
from tunix_rt_pipelines.lib.pointer import Pointer
from tunix_rt_pipelines.lib.registry.artifacts import ArtifactError
from tunix_rt_pipelines.lib.registry.candidate import PromotionCandidate, candidate_from_evaluation, check_model_name, default_model_name
from tunix_rt_pipelines.lib.registry.promote import PromotionRefused, PromotionResult
from tunix_rt_pipelines.lib.registry.schema import SchemaError
from tunix_rt_pipelines.lib.registry.store import RegistryConnectionError
from tunix_rt_pipelines.lib.registry.versions import ModelVersion, leaderboard_rows, score_columns
from tunix_rt_pipelines.resources.model_registry import ModelRegistryResource
from tunix_rt_pipelines.resources.storage import ProjectStorage, data_version, materialization

BEATS_CHAMPION = "registered_model_beats_champion"
CANDIDATE_KEY = "candidate"  # promotion_candidate's metadata entry: the candidate as pointers (JSON)
# What promotion may raise for a candidate the registry cannot take: each becomes a dg.Failure.
REGISTRY_ERRORS = (PromotionRefused, ArtifactError, SchemaError, RegistryConnectionError)


class PromotionConfig(dg.Config):
    model_name: str = Field(default="", description="Registry name. Empty: tunix-rt-<base model short name>, e.g. tunix-rt-tiny.")
    force: bool = Field(default=False, description="Register even when an overridable guard fails (failed run; absent, failed or foreign "
                                                   "evaluation). Recorded on the version; a forced version never becomes champion.")
    promoted_by: str = Field(default="", max_length=200, description="Who or what promotes, recorded on the version (at most 200 "
                                                                      "characters). Empty: dagster:<job name>.")

    @field_validator("model_name")
    @classmethod
    def _registry_name(cls, value: str) -> str:
        return check_model_name(value) if value else value


class LeaderboardConfig(dg.Config):
    model_name: str = Field(default="", description="Only this model name. Empty: every name in the registry.")
    rows: int = Field(default=50, ge=1, le=1000, description="Rows in the UI table (1..1000); `tunix-rt registry leaderboard` pages through all.")

    @field_validator("model_name")
    @classmethod
    def _registry_name(cls, value: str) -> str:
        return check_model_name(value) if value else value


def gate_check_result(check_name: str, better: bool, reason: str, gate: dict) -> dg.AssetCheckResult:
    """The WARN "beats the champion" check: the gate's verdict, what it tested, and its numbers (rounded) as metadata."""
    numbers = {k: (p_value(v) if k == "p_value" else rounded(v) if isinstance(v, float) else v)
               for k, v in gate.items() if v is not None and k != "reason"}
    return dg.AssetCheckResult(check_name=check_name, passed=better, severity=dg.AssetCheckSeverity.WARN,
                               description=gate_description(better, reason, gate), metadata=numbers)


def gate_description(better: bool, reason: str, gate: dict) -> str:
    """The gate's reason plus what was and was not tested, so "Passed" with no champion never reads as a McNemar pass."""
    level = gate.get("significance_level", 0.05)
    if gate.get("p_value") is not None:
        return (f"{reason}. Tested: exact McNemar test on {gate.get('n')} paired items of the primary eval set against champion "
                f"v{gate.get('champion_version')} (the champion alias moves only when delta > 0 and p < {level}).")
    if gate.get("other_primary"):
        return (f"{reason}. Not tested: the champion was scored on another primary eval set ({gate['other_primary'][:80]}), "
                "so there is no incumbent on this set and no McNemar test ran.")
    if better and gate.get("champion_version") is None:
        return ("no champion yet: this version becomes champion. Not tested: with no champion there is nothing to compare "
                "against, so no McNemar test ran; the next candidate is tested against this one.")
    return f"{reason}. Not tested: no McNemar test ran, and the champion alias did not move."


def load_candidate(context, storage: ProjectStorage) -> PromotionCandidate:
    """The candidate `promotion_candidate` recorded in this run (its pointers resolved against the artifact root)."""
    chosen = dict(storage.upstream_metadata(context, "promotion_candidate")[CANDIDATE_KEY].value)
    root = storage.artifacts_root()
    checkpoint, evaluation = Pointer(**chosen["checkpoint"]), Pointer(**chosen["evaluation"])
    return candidate_from_evaluation(
        chosen["model_name"], checkpoint.resolve(root), checkpoint.sha256, evaluation.resolve(root), source_asset=chosen["source_asset"],
        run_id=chosen["run_id"], data_version=chosen["data_version"], promoted_by=chosen["promoted_by"], forced=chosen["forced"],
        further=[Pointer(**p).resolve(root) for p in chosen.get("further", [])])


def further_evaluations(side: str) -> list[str]:
    """`<side>_evaluation__<set>` for every further declared eval set (`tunix_rt.yaml`), in declared order."""
    return [f"{side}_evaluation__{asset_name(key)}" for key in declared_datasets().extra_eval_sets]


# deps on evaluation_spec: its blocking evaluation_lock check must have run before the guards look for it.
# The further sets' evaluations of both sides are deps too: the version records the chosen side's score on each.
@dg.asset(group_name="registry", kinds={"python"},
          deps=["evaluation_spec", "base_checkpoint", "trained_checkpoint", "base_evaluation", "trained_evaluation",
                *further_evaluations("base"), *further_evaluations("trained")])
def promotion_candidate(context: dg.AssetExecutionContext, config: PromotionConfig, storage: ProjectStorage) -> dg.MaterializeResult:
    """The better of base and fine-tuned by the locked metric and the spec's tie-breakers; writes nothing."""
    base_model = str(storage.upstream_metadata(context, "base_checkpoint")["model"].value)
    try:
        name = check_model_name(config.model_name) if config.model_name else default_model_name(base_model)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    options = []
    for side in ("base", "trained"):
        evaluation_pointer = storage.upstream(context, f"{side}_evaluation")
        evaluation_record = materialization(context.instance, f"{side}_evaluation", context.run.run_id)
        summary, _ = read_evaluation(evaluation_pointer.resolve(storage.artifacts_root()))
        options.append((f"{side}_checkpoint", storage.upstream(context, f"{side}_checkpoint"), evaluation_pointer, summary,
                        evaluation_record.timestamp))
    # "created_at asc": the evaluation materialized first; base comes first when even that ties.
    ranked = rank(options, lambda o: {"score": o[3].score, "ci95_low": o[3].ci95[0], "n": o[3].n, "created_at": o[4]})
    asset, checkpoint, evaluation, summary, _ = ranked[0]
    further = [storage.upstream(context, name) for name in further_evaluations(asset.removesuffix("_checkpoint"))]
    chosen = {"model_name": name, "source_asset": asset, "checkpoint": checkpoint.model_dump(), "evaluation": evaluation.model_dump(),
              "run_id": context.run.run_id, "data_version": data_version(materialization(context.instance, asset, context.run.run_id)) or checkpoint.sha256,
              "promoted_by": config.promoted_by or f"dagster:{context.job_name}", "forced": config.force,
              "further": [p.model_dump() for p in further]}
    identity = json.dumps([name, checkpoint.sha256, evaluation.sha256, config.force, *(p.sha256 for p in further)])
    return dg.MaterializeResult(
        data_version=dg.DataVersion(hashlib.sha256(identity.encode()).hexdigest()[:32]),
        metadata={
            CANDIDATE_KEY: dg.MetadataValue.json(chosen),
            "model_name": dg.MetadataValue.text(name),
            "chosen": dg.MetadataValue.text(asset),
            "sha256": dg.MetadataValue.text(checkpoint.sha256),
            "score": dg.MetadataValue.float(summary.score),
            "forced": dg.MetadataValue.bool(config.force),
            "ranking": dg.MetadataValue.table(
                records=[dg.TableRecord({"rank": i + 1, "asset": a, "score": round(e.score, 4), "ci95_low": round(e.ci95[0], 4), "n": e.n,
                                         "sha256": c.sha256[:12]}) for i, (a, c, _, e, _) in enumerate(ranked)],
                schema=dg.TableSchema(columns=[dg.TableColumn("rank", "int"), dg.TableColumn("asset", "string"), dg.TableColumn("score", "float"),
                                               dg.TableColumn("ci95_low", "float"), dg.TableColumn("n", "int"), dg.TableColumn("sha256", "string")])),
        },
    )


def _metrics_table(version: ModelVersion) -> dg.MetadataValue:
    if version.by_category is None or version.score is None:
        return dg.MetadataValue.text("no metrics (forced without a usable evaluation)")
    overall = {"all": {"n": version.n, "correct": version.correct, "score": version.score, "ci95": [version.ci95_low, version.ci95_high]}}
    return breakdown_table({**overall, **version.by_category}, "category")


def _eval_sets_table(version: ModelVersion) -> dg.MetadataValue:
    """Every declared eval set's score on the version, the primary (which decided promotion) first."""
    if not version.eval_sets:
        return dg.MetadataValue.text("no scores (forced without a usable evaluation)")
    columns = [dg.TableColumn("dataset", "string"), dg.TableColumn("primary", "bool"), dg.TableColumn("score", "float"),
               dg.TableColumn("ci95_low", "float"), dg.TableColumn("ci95_high", "float"), dg.TableColumn("n", "int"),
               dg.TableColumn("dataset_sha256", "string")]
    return dg.MetadataValue.table(records=[dg.TableRecord({"dataset": s.dataset_key, "primary": s.is_primary, "score": s.score, "ci95_low": s.ci95_low,
                                                           "ci95_high": s.ci95_high, "n": s.n, "dataset_sha256": s.dataset_sha256[:12]})
                                           for s in version.eval_sets], schema=dg.TableSchema(columns=columns))


def registration_metadata(result: PromotionResult) -> dict[str, dg.MetadataValue]:
    """What the UI shows for a promotion: version, alias moves, sha256, URI, metrics snapshot."""
    v = result.version
    moves = [dg.TableRecord({"alias": m.alias, "from_version": m.from_version if m.from_version is not None else 0, "to_version": m.to_version,
                             "reason": m.reason}) for m in result.alias_moves]
    return {
        "model_name": dg.MetadataValue.text(v.name),
        "version": dg.MetadataValue.int(v.version),
        "created": dg.MetadataValue.bool(result.created),
        "sha256": dg.MetadataValue.text(v.sha256),
        "uri": dg.MetadataValue.path(v.artifact_uri),
        "size_bytes": dg.MetadataValue.int(v.size_bytes),
        "aliases": dg.MetadataValue.text(", ".join(v.aliases) or "none"),
        "alias_moves": dg.MetadataValue.table(records=moves) if moves else dg.MetadataValue.text("none"),
        "metrics": _metrics_table(v),
        "eval_sets": _eval_sets_table(v),
        "score": dg.MetadataValue.float(v.score) if v.score is not None else dg.MetadataValue.null(),
        "dataset": dg.MetadataValue.text(f"{v.dataset_key} {v.dataset_sha256}"),
        "evaluator": dg.MetadataValue.text(v.evaluator),
        "forced": dg.MetadataValue.bool(v.forced),
        "overridden": dg.MetadataValue.json(v.overridden),
        "gate": dg.MetadataValue.json(result.gate.to_dict()),
        "run_id": dg.MetadataValue.text(v.run_id),
    }


@dg.asset(group_name="registry", kinds={"python"}, deps=["promotion_candidate"],
          check_specs=[dg.AssetCheckSpec(BEATS_CHAMPION, asset="registered_model",
                                         description="The candidate beats the champion on paired items (McNemar p < 0.05); "
                                                     "only then does the champion alias move.")])
def registered_model(context: dg.AssetExecutionContext, storage: ProjectStorage, model_registry: ModelRegistryResource):
    """The candidate as a registry version: immutable copy, metrics snapshot, provenance; `champion` moves when it is better."""
    try:
        result = model_registry.promote(load_candidate(context, storage))
    except REGISTRY_ERRORS as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    v = result.version
    yield dg.MaterializeResult(data_version=dg.DataVersion(f"{v.name}/v{v.version}/{v.sha256[:16]}"),
                               metadata=registration_metadata(result))
    yield gate_check_result(BEATS_CHAMPION, result.gate.better, result.gate.reason, result.gate.to_dict())


def _leaderboard_cell(column: str, value):
    """A leaderboard cell as it fits the UI at 1600 px: hashes cut to 12 digits, floats rounded, long text cut."""
    if column.endswith("sha256"):
        return str(value)[:12]
    if isinstance(value, float):
        return rounded(value)
    return cell(value, 32) if isinstance(value, str) else value


@dg.asset(group_name="registry", deps=[registered_model], kinds={"python"})
def leaderboard(config: LeaderboardConfig, model_registry: ModelRegistryResource) -> dg.MaterializeResult:
    """Every registry version ranked by the locked metric on the primary set (CI, dataset hash, aliases), with a
    `score:<key>` column per further eval set; one row per version."""
    page = model_registry.leaderboard(config.model_name or None, limit=config.rows)
    rows = leaderboard_rows(page)
    columns = [dg.TableColumn("rank", "int"), dg.TableColumn("name", "string"), dg.TableColumn("version", "int"), dg.TableColumn("score", "float"),
               dg.TableColumn("ci95_low", "float"), dg.TableColumn("ci95_high", "float"), dg.TableColumn("n", "int"),
               dg.TableColumn("dataset_sha256", "string", description="first 12 hex digits (the full hash is in `tunix-rt registry show`)"),
               dg.TableColumn("evaluator", "string"), dg.TableColumn("aliases", "string"), dg.TableColumn("forced", "bool")]
    columns += [dg.TableColumn(name, "float", description="score on this further declared eval set") for name in score_columns(rows)]
    records = [dg.TableRecord({c.name: _leaderboard_cell(c.name, r[c.name]) for c in columns if r[c.name] is not None}) for r in rows]
    return dg.MaterializeResult(
        data_version=dg.DataVersion(hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:32]),
        metadata={"dagster/row_count": dg.MetadataValue.int(page.total), "shown": dg.MetadataValue.int(len(rows)),
                  "leaderboard": dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))},
    )
