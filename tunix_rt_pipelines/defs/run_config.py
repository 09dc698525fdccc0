"""Checking a run config completely before a run exists: Dagster's schema, then every typed config's own constraints.

Dagster validates run config against a schema built from each `dg.Config`'s field *types* only:
`max_steps: -1`, `learning_rate: .inf` or `device: cuda` on a CPU machine pass it, and the
pydantic constraints (`ge`, `le`, finite, the device check) run only when the step builds its
config, 20-60 s into the run. `run_config_problems` runs both checks up front, for the command
line (`tunix-rt run --config`), the sensors (before a `RunRequest`), and the launchpad
(`defs/launch_checks.py` hooks it into the job's config mapping).

Each problem is one line naming the setting by its run-config path, the value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import ValidationError

from tunix_rt_pipelines.lib.validation import describe_errors

_PATH = re.compile(r"at path root:([\w:\[\]]+)")
_SCALAR = re.compile(r'^Invalid scalar at (\S+)\. Value "(.*)" of type "<class \'(\w+)\'>" is not valid for expected type "(\w+)"$', re.S)
_TYPE_WORDS = {"Int": "a whole number", "Float": "a number", "Bool": "true or false", "String": "text"}


def config_classes(job_def: dg.JobDefinition) -> dict[str, type[dg.Config]]:
    """The `dg.Config` class each op (asset) of the job takes, by op name."""
    out = {}
    for node in job_def.graph.node_defs:
        fn = getattr(node, "compute_fn", None)
        # DecoratedOpFunction keeps the annotated `config` parameter; assets without knobs have none.
        if fn is not None and hasattr(fn, "has_config_arg") and fn.has_config_arg():
            annotation = fn.get_config_arg().annotation
            if isinstance(annotation, type) and issubclass(annotation, dg.Config):
                out[node.name] = annotation
    return out


def _dagster_problem(message: str, classes: Mapping[str, type[dg.Config]]) -> str:
    """Dagster's message without its schema dump, the path dotted, and the known settings where a key is unknown."""
    head = message.split(" Expected:", 1)[0].rstrip(".")
    head = _PATH.sub(lambda m: "at " + m.group(1).replace(":", "."), head)
    scalar = _SCALAR.match(head)
    if scalar:  # Dagster's wording, in the form every other problem has: path: value is refused: why
        path, value, got, expected = scalar.groups()
        return f"{path}: {value[:60]} is refused: expected {_TYPE_WORDS.get(expected, expected)}, got {got}"
    unknown = re.search(r'unexpected config entry "([^"]+)" at ops\.(\w+)\.config$', head)
    if unknown and unknown.group(2) in classes:
        head += f"; known settings: {', '.join(sorted(classes[unknown.group(2)].model_fields))}"
    elif "at the root" in head:
        head += "; a run config has ops, resources, loggers and execution, e.g. ops: {trained_checkpoint: {config: {max_steps: 20}}}"
    return head


def run_config_problems(job_def: dg.JobDefinition, run_config: Mapping[str, Any]) -> list[str]:
    """Every reason `run_config` cannot start a run of `job_def`; [] when it can.

    Args:
        job_def: The resolved job.
        run_config: The run config as the user wrote it (`ops: {asset: {config: {...}}}`).
    """
    classes = config_classes(job_def)
    try:
        processed = dg.validate_run_config(job_def, dict(run_config))
    except dg.DagsterInvalidConfigError as exc:
        return [_dagster_problem(e.message, classes) for e in exc.errors]
    return op_config_problems(classes, processed.get("ops") or {})


def op_config_problems(classes: Mapping[str, type[dg.Config]], ops: Mapping[str, Any]) -> list[str]:
    """The pydantic checks of each op's config (Dagster has already checked the shape and types)."""
    problems = []
    for op, cls in classes.items():
        values = ((ops.get(op) or {}).get("config")) or {}
        try:
            cls(**values)
        except ValidationError as exc:
            problems += describe_errors(exc, cls, prefix=f"ops.{op}.config.")
        except ValueError as exc:  # a validator that raises outside pydantic's wrapping
            problems.append(f"ops.{op}.config: {exc}")
    return problems
