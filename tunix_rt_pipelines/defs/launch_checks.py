"""Refusing a bad setting in the launchpad (and every other launch) before the run is created.

Dagster calls a job's config mapping while it builds the run, in the webserver, before anything
is stored; an error raised there is shown in the launchpad and no run exists. Each job gets a
mapping whose schema is the job's own run-config schema (so the launchpad's scaffolding and
type-ahead stay exactly as they were) and whose function runs `op_config_problems`, the typed
configs' pydantic checks, then hands the config through unchanged. The problems are raised as
Dagster config errors at the setting's path, so the launchpad marks the field itself.

A job defined with a run-config dict (a preset, such as `sweep_smoke_job`) is checked the same way,
with the preset filled in under what the user gave.

Applied once, in `definitions.py`. Sensors and schedules target jobs by name, so the checked
job is the one they launch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._config import ConfigAnyInstance, process_config, validate_config
from dagster._config.errors import DagsterEvaluationErrorReason, EvaluationError, RuntimeMismatchErrorData
from dagster._config.snap import snap_from_config_type
from dagster._config.stack import EvaluationStackPathEntry, EvaluationStackRoot
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._core.errors import DagsterInvalidConfigError

from tunix_rt_pipelines.defs.run_config import config_classes, op_config_problems


def _error(problem: str) -> EvaluationError:
    """A config error at the dotted path the problem starts with (`ops.trained_checkpoint.config.max_steps: ...`)."""
    stack = EvaluationStackRoot()
    for part in problem.split(":", 1)[0].split("."):
        stack = EvaluationStackPathEntry(parent=stack, field_name=part)
    return EvaluationError(stack=stack, reason=DagsterEvaluationErrorReason.RUNTIME_TYPE_MISMATCH, message=problem,
                           error_data=RuntimeMismatchErrorData(config_type_snap=snap_from_config_type(ConfigAnyInstance),
                                                               value_rep=problem.split(": ", 1)[-1]))


class _CheckedMapping(dg.ConfigMapping):
    """A config mapping that hands on the config exactly as given.

    Dagster's own `resolve_from_unvalidated_config` fills in the schema's defaults first, and the
    defaults of a resource's config are those of the Definitions the schema was taken from: a
    test (or deployment) that rebinds `storage` would have its artifacts sent to the old folder.
    """

    def resolve_from_unvalidated_config(self, config):
        config = config or {}
        outer = validate_config(self.config_schema.config_type, config)
        if not outer.success:
            raise DagsterInvalidConfigError("Error in config mapping ", outer.errors, config)
        return self.config_fn(config)


def _under(preset: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` with `preset` filled in wherever `given` says nothing (nested mappings merged key by key)."""
    out = dict(preset)
    for key, value in given.items():
        out[key] = _under(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) else value
    return out


def checked_mapping(job_def: dg.JobDefinition, preset: Mapping[str, Any] | None = None) -> dg.ConfigMapping:
    """A config mapping for `job_def` that refuses what its typed configs refuse, and changes nothing else.

    With a `preset` (a job defined with a run-config dict), the schema is the one Dagster builds for
    it (the preset as defaults) and the preset is filled in under what the user gave, as Dagster does.
    """
    # A preset job's own mapping (Dagster's) carries the preset as the schema's defaults: the launchpad
    # scaffolds those, not the assets' defaults, which would override the whole preset on launch.
    schema_type = (job_def.config_mapping.config_schema.config_type if preset and job_def.config_mapping
                   else job_def.run_config_schema.run_config_schema_type)
    classes = config_classes(job_def)

    def check(config):
        config = _under(preset, config) if preset else config
        processed = process_config(schema_type, config)  # env vars resolved, for the pydantic checks only
        ops = processed.value.get("ops", {}) if processed.success and processed.value else {}
        problems = op_config_problems(classes, ops)
        if problems:
            raise DagsterInvalidConfigError(f"Error in config for job {job_def.name}: {len(problems)} setting(s) refused",
                                            [_error(p) for p in problems], config)
        return config

    return _CheckedMapping(config_fn=check, config_schema=schema_type)


def with_launch_checks(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with every asset job's config checked at launch (jobs with their own config are left as they are)."""
    jobs = []
    # The folder load lists a job once per module that holds it (jobs.py and each importer): each once here.
    for job in {id(j): j for j in defs.jobs or []}.values():
        preset = job.config if isinstance(job, UnresolvedAssetJobDefinition) and isinstance(job.config, dict) else None
        if not isinstance(job, UnresolvedAssetJobDefinition) or (job.config is not None and preset is None):
            jobs.append(job)
            continue
        jobs.append(dg.define_asset_job(name=job.name, selection=job.selection, description=job.description, tags=job.tags,
                                        run_tags=job.run_tags, metadata=job.metadata, partitions_def=job.partitions_def,
                                        executor_def=job.executor_def, hooks=job.hooks, op_retry_policy=job.op_retry_policy,
                                        config=checked_mapping(defs.resolve_job_def(job.name), preset)))
    return dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=jobs, schedules=defs.schedules, sensors=defs.sensors,
                          resources=defs.resources, executor=defs.executor, loggers=defs.loggers, metadata=defs.metadata,
                          component_tree=defs.component_tree)
