"""Promotion: guarded, idempotent, concurrent-safe registration of a checkpoint as a new version.

The API the sweep and the CLI share with the `registered_model` asset (docs/registry.md):

    result = promote(registry, candidate, force=False)   # or ModelRegistryResource.promote(candidate)
    result.version.version, result.created, result.alias_moves, result.gate
    verdict = gate(registry, candidate)                  # read-only: would it become champion?

Steps, each before anything is written unless said otherwise:
1. Guards (`rules.py`). Missing or changed artifacts always refuse.
2. Idempotency: this name already has this sha256 -> that version, nothing written.
3. The other guards refuse unless `force` (or `candidate.forced`); overrides are recorded.
4. The checkpoint (and its evaluation.json) are published to the content-addressed store:
   copied, verified, renamed into place; a failure leaves no file behind.
5. One write transaction, holding the name's lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL
   `SELECT ... FOR UPDATE` on the name's row): re-check idempotency, take the next version
   number, insert the row and every eval set's score, run the regression gate against the champion, move `champion` if
   the gate says so. Version numbers come from a per-name counter in the same transaction, so
   they are consecutive and never reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tunix_rt_pipelines.lib.registry.artifacts import folder_size, publish_checkpoint, publish_evaluation
from tunix_rt_pipelines.lib.registry.candidate import PromotionCandidate, candidate_from_evaluation, check_model_name
from tunix_rt_pipelines.lib.registry.gate import CHAMPION, GateVerdict, regression_gate
from tunix_rt_pipelines.lib.registry.registry import Registry, move_alias
from tunix_rt_pipelines.lib.registry.rules import GuardFailure, all_failures, further_sets, refusal_message
from tunix_rt_pipelines.lib.registry.scores import score_row
from tunix_rt_pipelines.lib.registry.store import write_transaction
from tunix_rt_pipelines.lib.registry.tables import model_names, model_versions, version_eval_scores
from tunix_rt_pipelines.lib.registry.versions import AliasMove, ModelVersion, aliases

# One import point for callers (the sweep): the candidate, how to build it, and the result.
__all__ = ["PromotionCandidate", "PromotionRefused", "PromotionResult", "candidate_from_evaluation", "gate", "gate_existing", "promote"]


class PromotionRefused(Exception):
    """A guard refused the candidate; the message lists every reason and whether force helps."""


@dataclass(frozen=True)
class PromotionResult:
    version: ModelVersion
    created: bool  # False: this sha256 was already registered under the name; nothing was written
    alias_moves: list[AliasMove]
    gate: GateVerdict
    overridden: list[GuardFailure]  # guard failures that force=True overrode (recorded on the version)


def promote(registry: Registry, candidate: PromotionCandidate, *, force: bool = False) -> PromotionResult:
    """Register `candidate` as the next version of its name (see the module docstring).

    Raises:
        PromotionRefused: A guard failed (and force is off or cannot override it), or the
            model name is invalid. Nothing is written.
        ArtifactError: The copy into the store did not verify. Nothing is written.
    """
    try:
        name = check_model_name(candidate.model_name)
    except ValueError as exc:
        raise PromotionRefused(str(exc)) from None
    force = force or candidate.forced
    pins = registry.pins()
    failures, evaluation = all_failures(candidate, pins)
    if any(not f.overridable for f in failures):
        raise PromotionRefused(refusal_message(candidate, [f for f in failures if not f.overridable], force))
    existing = registry.find(name, candidate.checkpoint_sha256)
    if existing is not None:
        return PromotionResult(existing, False, [], gate_existing(registry, existing), [])
    if failures and not force:
        raise PromotionRefused(refusal_message(candidate, failures, force))

    artifact = publish_checkpoint(Path(candidate.checkpoint_path), candidate.checkpoint_sha256, registry.root)
    evaluation_copy, evaluation_sha256 = (publish_evaluation(Path(candidate.evaluation_path), registry.root)
                                          if evaluation is not None and candidate.evaluation_path else (None, None))
    # all_failures keeps the evaluation only when it agrees with candidate.metrics (rules._disagreements)
    metrics = candidate.metrics if evaluation is not None else None
    values = {
        "name": name, "source_asset": candidate.source_asset, "run_id": candidate.run_id, "data_version": candidate.data_version,
        "sha256": candidate.checkpoint_sha256, "artifact_uri": artifact.as_uri(), "size_bytes": folder_size(artifact),
        "score": metrics.score if metrics else None, "n": metrics.n if metrics else None,
        "correct": metrics.correct if metrics else None, "ci95_low": metrics.ci95[0] if metrics else None,
        "ci95_high": metrics.ci95[1] if metrics else None, "by_category": metrics.by_category if metrics else None,
        "evaluation_uri": evaluation_copy.as_uri() if evaluation_copy else None, "evaluation_sha256": evaluation_sha256,
        "dataset_key": candidate.dataset_key, "dataset_sha256": candidate.dataset_sha256, "evaluator": candidate.evaluator,
        "spec_sha256": candidate.spec_sha256, "training_config": candidate.training_config, "promoted_by": candidate.promoted_by,
        "forced": bool(failures), "overridden": [f.to_dict() for f in failures],
    }
    # Every eval set's score: the primary's (when usable), then each further set whose evaluation passed its guard.
    scores = [score_row(evaluation, metrics, primary=True, evaluation_uri=values["evaluation_uri"], evaluation_sha256=evaluation_sha256)
              ] if evaluation is not None and metrics is not None else []
    for further, payload in further_sets(candidate, pins)[1]:  # its guard proved it scored this very checkpoint
        copy, sha = publish_evaluation(Path(further.evaluation_path), registry.root)
        scores.append(score_row(payload, further.metrics, primary=False, evaluation_uri=copy.as_uri(), evaluation_sha256=sha))

    def register(conn: sa.Connection) -> PromotionResult:
        now = datetime.now(UTC)
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(model_names)
        conn.execute(insert.values(name=name, last_version=0, created_at=now).on_conflict_do_nothing())
        last = conn.execute(sa.select(model_names.c.last_version).where(model_names.c.name == name).with_for_update()).scalar_one()
        # Re-checked under the lock: a concurrent promotion of the same sha256 may have won.
        row = conn.execute(sa.select(model_versions).where(model_versions.c.name == name,
                                                           model_versions.c.sha256 == candidate.checkpoint_sha256)).first()
        if row is not None:
            version = ModelVersion.load(conn, row)
            return PromotionResult(version, False, [], gate_existing(registry, version, conn), [])
        number = last + 1
        champion = aliases(conn, name).get(CHAMPION)
        incumbent = registry.find(name, version=champion, conn=conn) if champion else None
        verdict = regression_gate(evaluation, registry.evaluation_of(incumbent), champion_version=champion, forced=bool(failures),
                                  champion_primary=primary_of(incumbent))
        conn.execute(model_versions.insert().values(**values, version=number, created_at=now, gate=verdict.to_dict()))
        if scores:
            conn.execute(version_eval_scores.insert(), [{**score, "name": name, "version": number} for score in scores])
        conn.execute(model_names.update().where(model_names.c.name == name).values(last_version=number))
        moves = [move_alias(conn, name, CHAMPION, number, candidate.promoted_by, verdict.reason, now)] if verdict.better else []
        row = conn.execute(sa.select(model_versions).where(model_versions.c.name == name, model_versions.c.version == number)).one()
        return PromotionResult(ModelVersion.load(conn, row, [CHAMPION] if verdict.better else []), True, moves, verdict, failures)

    return write_transaction(registry.engine, register)


def gate(registry: Registry, candidate: PromotionCandidate) -> GateVerdict:
    """Would `candidate` replace the current champion? Read-only."""
    failures, evaluation = all_failures(candidate, registry.pins())
    existing = registry.find(candidate.model_name, candidate.checkpoint_sha256)
    if existing is not None:
        return gate_existing(registry, existing)
    with registry.reading() as conn:
        champion = aliases(conn, candidate.model_name).get(CHAMPION)
        champion_version = registry.find(candidate.model_name, version=champion, conn=conn) if champion else None
    return regression_gate(evaluation, registry.evaluation_of(champion_version), champion_version=champion, forced=bool(failures),
                           champion_primary=primary_of(champion_version))


def gate_existing(registry: Registry, version: ModelVersion, conn: sa.Connection | None = None) -> GateVerdict:
    """The gate for an already registered version against today's champion (nothing moves)."""
    with registry.reading(conn) as c:
        champion = aliases(c, version.name).get(CHAMPION)
        if champion == version.version:
            return GateVerdict(True, f"v{version.version} is the champion", champion, version.score, version.score)
        champion_version = registry.find(version.name, version=champion, conn=c) if champion else None
    return regression_gate(registry.evaluation_of(version), registry.evaluation_of(champion_version), champion_version=champion,
                           forced=version.forced, champion_primary=primary_of(champion_version))


def primary_of(version: ModelVersion | None) -> tuple[str, str] | None:
    """The primary eval set a version was scored on, `(key, content sha256)`; the gate compares only within one."""
    return None if version is None else (version.dataset_key, version.dataset_sha256)
