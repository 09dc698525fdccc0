"""Fuzz of `tunix-rt run --config`: every typed setting given every kind of bad value (issue 13's fuzz suite).

Contract, per case: exit 2; one stderr line, starting `error:`, that names the setting by its
run-config path (a value breaking several rules: a count, then one such line per problem); no traceback; no run and no Dagster instance created; nothing written
beside the config file. The cases are generated: each field of each asset's config against a
fixed list of hostile values, keeping those that Dagster's schema or the field's own pydantic
constraints refuse (the oracle), so a new field is fuzzed the day it is added. A control checks
that the values the oracle accepts are accepted by the command's own check too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import dagster as dg
import pytest
from pydantic import BaseModel, ValidationError

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.cli.main import main
from tunix_rt_pipelines.cli.pipeline import build_main_job
from tunix_rt_pipelines.defs.run_config import config_classes, run_config_problems

HOSTILE = [-1, 0, -(10**12), 10**12, 2**64, 1.5, -0.5, math.nan, math.inf, -math.inf, "", "abc", "1e3", True, None, [], {},
           [1, 2], {"x": 1}, "cuda:7", "tpu", "x" * 300]
_JOB = build_main_job()
_CLASSES = config_classes(_JOB)


def _fields(cls: type[BaseModel], prefix: str = "") -> list[tuple[str, dict]]:
    """(dotted field, nesting path) for every leaf field, nested models flattened (lora.r)."""
    out = []
    for name, info in cls.model_fields.items():
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            out += _fields(nested, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def _config(field: str, value) -> dict:
    config: dict = {}
    node = config
    *parents, leaf = field.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return config


def _refused(asset: str, field: str, value) -> bool:
    """The oracle: Dagster's schema or the config class refuses this value."""
    run_config = {"ops": {asset: {"config": _config(field, value)}}}
    try:
        dg.validate_run_config(_JOB, run_config)
    except dg.DagsterInvalidConfigError:
        return True
    try:
        _CLASSES[asset](**_config(field, value))
    except (ValidationError, ValueError):
        return True
    return False


ASSETS = ["trained_checkpoint", "base_predictions", "leaderboard", "promotion_candidate"]
ALL = [(a, f, v) for a in ASSETS for f in _fields(_CLASSES[a]) for v in HOSTILE]
BAD = [c for c in ALL if _refused(*c)]
GOOD = [c for c in ALL if c not in BAD]


def _id(case) -> str:
    asset, field, value = case
    return f"{asset}.{field}={json.dumps(value)[:20]}"


def test_the_fuzz_is_big_enough():
    assert len(BAD) >= 250, len(BAD)


@pytest.mark.parametrize("case", BAD, ids=[_id(c) for c in BAD])
def test_every_refused_value_is_one_clean_line_and_starts_nothing(case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asset, field, value = case
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"ops": {asset: {"config": _config(field, value)}}}))  # NaN/Infinity: Python's JSON extension
    home = environment.dagster_home()
    existed = home.exists()

    code = main(["run", "--config", str(path)])
    captured = capsys.readouterr()

    assert code == 2
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith("error: "), captured.err
    # One line; or, when one value breaks several rules (a list with two bad items), a count and one line per problem.
    problems = lines if len(lines) == 1 else lines[1:]
    assert len(lines) == 1 or lines[0].endswith(f"{len(problems)} settings refused, no run was started:"), captured.err
    assert all(f"ops.{asset}.config" in p and field.split(".")[-1] in p for p in problems), captured.err
    assert "Traceback" not in captured.err + captured.out and captured.out == ""
    assert home.exists() == existed
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


@pytest.mark.parametrize("case", GOOD[::3], ids=[_id(c) for c in GOOD[::3]])
def test_values_the_fields_accept_pass_the_command_check(case) -> None:
    asset, field, value = case
    assert run_config_problems(_JOB, {"ops": {asset: {"config": _config(field, value)}}}) == []
