"""Pydantic validation errors as the one-line messages a user acts on: field, value, allowed range.

`pydantic` says "Input should be greater than or equal to 0"; a user also needs to know which
setting, what they wrote and what would be accepted. `describe_errors` adds the dotted field
path, the value given and the field's bounds or choices (read from its own constraints, so the
message can never disagree with the check).
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


def _field_info(model: type[BaseModel] | None, loc: tuple) -> FieldInfo | None:
    """The FieldInfo at `loc`, following nested models; None where the path leaves the models."""
    info = None
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        nested = info.annotation
        model = nested if isinstance(nested, type) and issubclass(nested, BaseModel) else None
    return info


def allowed_values(info: FieldInfo) -> str:
    """What a field accepts, e.g. `0 <= value <= 1000000`, `one of 'cosine', 'linear'`; '' when unconstrained."""
    if typing.get_origin(info.annotation) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(info.annotation))
    low = high = ""
    finite = False
    for m in info.metadata:
        for attr, sign in (("gt", "<"), ("ge", "<=")):
            if getattr(m, attr, None) is not None:
                low = f"{getattr(m, attr)} {sign} "
        for attr, sign in (("lt", "<"), ("le", "<=")):
            if getattr(m, attr, None) is not None:
                high = f" {sign} {getattr(m, attr)}"
        if getattr(m, "allow_inf_nan", None) is False:
            finite = True
    if not (low or high):
        return "a finite number" if finite else ""
    return f"{low}value{high}" + (", finite" if finite and not (low and high) else "")


def describe_errors(exc: ValidationError, model: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """One line per problem: `<prefix><field>: <value> is refused: <why> (allowed: <range>)`.

    Args:
        exc: The error pydantic raised.
        model: The model that was validated, to read each field's bounds.
        prefix: Prepended to every field path (e.g. `ops.trained_checkpoint.config.`).
    """
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = prefix + ".".join(str(p) for p in loc) if loc else prefix.rstrip(".") or "config"
        reason = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            known = sorted(_known(model, loc[:-1]))
            lines.append(f"{where}: unknown setting" + (f"; known: {', '.join(known)}" if known else ""))
            continue
        if error["type"] == "missing":
            lines.append(f"{where}: required, not given")
            continue
        info = _field_info(model, loc)
        allowed = allowed_values(info) if info is not None else ""
        value = _short(error.get("input"))
        if error["type"] == "value_error":  # the project's own validators name the value themselves
            parts = [p.strip() for p in reason.splitlines() if p.strip()]
            # A validator listing several problems ("invalid search space:" then one per line): one line each.
            lines += [f"{where}: {p}" for p in (parts[1:] if len(parts) > 1 and parts[0].endswith(":") else [" ".join(parts)])]
        else:
            lines.append(f"{where}: {value} is refused: {reason}" + (f" (allowed: {allowed})" if allowed else ""))
    return lines


def _known(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    if not loc:
        return list(model.model_fields) if model is not None else []
    info = _field_info(model, loc)
    nested = info.annotation if info is not None else None
    return list(nested.model_fields) if isinstance(nested, type) and issubclass(nested, BaseModel) else []


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
