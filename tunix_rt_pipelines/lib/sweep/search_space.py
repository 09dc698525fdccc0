"""The sweep's search space: a typed schema, checked against the training config, turned into Ray Tune domains.

A space maps training hyperparameter names to dimensions, each discriminated by `type`:

    choice      {values: [...]}           one of the listed values
    uniform     {min, max}                min < max
    loguniform  {min, max}                0 < min < max (log-spaced; learning rates)
    randint     {min, max}                min < max, integers, max INCLUSIVE
    quniform    {min, max, q}             min < max, q > 0, min and max multiples of q

Only the known training hyperparameters may appear (the fields of `TrainSettings` minus the
hardware and bookkeeping ones in `NOT_HYPERPARAMETERS`). Every problem is reported at once as
`search_space.<key>: <problem>`, and an unknown key names the allowed ones. Beyond the shape,
the bounds (or every choice) must be valid values of the training field itself, so a space can
never sample a learning rate of 0 or a fractional batch size.

Pure module: pydantic only; Ray is imported inside `to_tune_domains`.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

# TrainSettings fields that are not hyperparameters: the hardware comes from the sweep's
# per-trial resources, and the rest is bookkeeping, a smoke-run knob of the base config, or how batches
# are laid out (`packing` gives the same loss as padding, only faster).
NOT_HYPERPARAMETERS = frozenset({"device", "dtype", "num_threads", "save_steps", "logging_steps", "max_train_samples",
                                 "prompt_format", "mixed_precision", "gradient_checkpointing", "lora", "packing",
                                 "num_workers", "cpus_per_worker", "gpus_per_worker"})  # Ray Train resources, not hyperparameters


class _Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Dimension):
    type: Literal["choice"]
    values: list[Any] = Field(min_length=1, description="The values to pick from.")


class Uniform(_Dimension):
    type: Literal["uniform"]
    min: float
    max: float


class LogUniform(_Dimension):
    type: Literal["loguniform"]
    min: float
    max: float


class RandInt(_Dimension):
    type: Literal["randint"]
    min: int
    max: int  # inclusive


class QUniform(_Dimension):
    type: Literal["quniform"]
    min: float
    max: float
    q: float


Dimension = Annotated[Choice | Uniform | LogUniform | RandInt | QUniform, Field(discriminator="type")]
_DIMENSION = TypeAdapter(Dimension)
DIMENSION_TYPES = ("choice", "uniform", "loguniform", "randint", "quniform")


class SearchSpaceError(ValueError):
    """A search space that cannot be used; the message lists every problem, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid search space:\n" + "\n".join(f"  {p}" for p in problems))


def tunable_fields(fields: Mapping[str, FieldInfo]) -> dict[str, FieldInfo]:
    """The training fields a search space may name."""
    return {name: info for name, info in fields.items() if name not in NOT_HYPERPARAMETERS}


def _is_multiple(value: float, q: float) -> bool:
    return math.isclose(value / q, round(value / q), rel_tol=1e-9, abs_tol=1e-9)


def _bound_problems(dim: Any) -> list[str]:
    """Problems with the dimension's own bounds, independent of the field it is for."""
    if isinstance(dim, Choice):
        reprs = [repr(v) for v in dim.values]
        twice = sorted({r for r in reprs if reprs.count(r) > 1})
        return [f"choice lists {', '.join(twice)} more than once (a sweep never runs a configuration twice); list each value once"] if twice else []
    if isinstance(dim, LogUniform) and not 0 < dim.min < dim.max:
        return [f"loguniform needs 0 < min < max, got min={dim.min}, max={dim.max}"]
    if dim.min >= dim.max:
        return [f"{dim.type} needs min < max, got min={dim.min}, max={dim.max}"]
    if isinstance(dim, QUniform):
        if dim.q <= 0:
            return [f"quniform needs q > 0, got q={dim.q}"]
        if dim.q > dim.max - dim.min:
            return [f"quniform q={dim.q} is wider than the range {dim.min}..{dim.max}"]
        off = [name for name, v in (("min", dim.min), ("max", dim.max)) if not _is_multiple(v, dim.q)]
        if off:
            what = "min and max must be multiples" if len(off) == 2 else f"{off[0]} must be a multiple"
            return [f"quniform {what} of q={dim.q} (got min={dim.min}, max={dim.max})"]
    return []


def _type_problems(dim: Any, annotation: Any) -> list[str]:
    """Problems of using this kind of dimension for a field of this Python type."""
    text = annotation is str or (typing.get_origin(annotation) is Literal and all(isinstance(a, str) for a in typing.get_args(annotation)))
    if text and not isinstance(dim, Choice):
        return [f"is a text setting; only choice can search it (got {dim.type})"]
    if annotation is int and isinstance(dim, Uniform | LogUniform):
        return [f"is an integer setting; use randint, choice or quniform with a whole-number q (got {dim.type})"]
    if annotation is int and isinstance(dim, QUniform) and not all(float(v).is_integer() for v in (dim.min, dim.max, dim.q)):
        return [f"is an integer setting; quniform needs whole-number min, max and q (got min={dim.min}, max={dim.max}, q={dim.q})"]
    return []


def _field_value_problems(dim: Any, key: str, info: FieldInfo) -> list[str]:
    """Every value the dimension can produce must be a valid value of the training field.

    Checking the end points is enough for ranges: the field constraints (gt, ge, lt, le) are
    monotone. Choices are checked value by value.
    """
    adapter = TypeAdapter(Annotated[info.annotation, info])
    candidates = [("value", v) for v in dim.values] if isinstance(dim, Choice) else [("min", dim.min), ("max", dim.max)]
    problems = []
    for label, value in candidates:
        try:
            adapter.validate_python(value, strict=isinstance(dim, Choice))
        except ValidationError as exc:
            reason = "; ".join(e["msg"] for e in exc.errors(include_url=False))
            problems.append(f"{label} {value!r} is not a valid {key}: {reason}")
    return problems


def parse_search_space(raw: Mapping[str, Any], fields: Mapping[str, FieldInfo]) -> dict[str, Any]:
    """Validate a raw search space (as written in run config) against the training fields.

    Args:
        raw: `{hyperparameter: {"type": ..., ...}}`.
        fields: The training config's pydantic fields (`TrainSettings.model_fields`).

    Returns:
        `{hyperparameter: Dimension}` in the order given.

    Raises:
        SearchSpaceError: Listing every problem as `search_space.<key>: <problem>`.
    """
    allowed = tunable_fields(fields)
    problems: list[str] = []
    if not raw:
        problems.append(f"search_space: empty; name at least one hyperparameter: {', '.join(sorted(allowed))}")
    parsed: dict[str, Any] = {}
    for key, spec in raw.items():
        where = f"search_space.{key}"
        if key not in allowed:
            why = "not a hyperparameter (set it in the sweep's training config instead)" if key in fields else "unknown hyperparameter"
            problems.append(f"{where}: {why}; allowed: {', '.join(sorted(allowed))}")
            continue
        if not isinstance(spec, Mapping) or spec.get("type") not in DIMENSION_TYPES:
            got = spec.get("type") if isinstance(spec, Mapping) else type(spec).__name__
            problems.append(f"{where}: needs a mapping with type one of {', '.join(DIMENSION_TYPES)} (got {got!r})")
            continue
        try:
            dim = _DIMENSION.validate_python(dict(spec))
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in e["loc"][1:])  # drop the discriminator tag
                problems.append(f"{where}.{loc}: {e['msg']}" if loc else f"{where}: {e['msg']}")
            continue
        own = _bound_problems(dim) or _type_problems(dim, allowed[key].annotation)
        own = own or _field_value_problems(dim, key, allowed[key])
        problems.extend(f"{where}: {p}" for p in own)
        parsed[key] = dim
    if problems:
        raise SearchSpaceError(problems)
    return parsed


def to_tune_domains(space: Mapping[str, Any]) -> dict[str, Any]:
    """Ray Tune domain objects for a parsed space (`randint`'s inclusive max becomes Ray's exclusive upper)."""
    from tunix_rt_pipelines.lib.ray_env import import_ray

    import_ray()
    from ray import tune

    out: dict[str, Any] = {}
    for key, dim in space.items():
        if isinstance(dim, Choice):
            out[key] = tune.choice(list(dim.values))
        elif isinstance(dim, Uniform):
            out[key] = tune.uniform(dim.min, dim.max)
        elif isinstance(dim, LogUniform):
            out[key] = tune.loguniform(dim.min, dim.max)
        elif isinstance(dim, RandInt):
            out[key] = tune.randint(dim.min, dim.max + 1)
        elif isinstance(dim, QUniform):
            out[key] = tune.quniform(dim.min, dim.max, dim.q)
        else:  # pragma: no cover - the union is closed
            raise TypeError(f"unknown dimension {dim!r}")
    return out


def integer_keys(fields: Mapping[str, FieldInfo]) -> frozenset[str]:
    """The training fields that hold integers (their sampled values are cast back with `coerce_params`)."""
    return frozenset(name for name, info in fields.items() if info.annotation is int)


def coerce_params(params: Mapping[str, Any], int_keys: frozenset[str]) -> dict[str, Any]:
    """Sampled values as the training fields expect them (quniform gives 16.0 for an int field)."""
    return {k: int(round(v)) if k in int_keys and isinstance(v, float) else v for k, v in params.items()}
