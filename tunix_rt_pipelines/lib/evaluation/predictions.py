"""Reading and writing `predictions.jsonl`: one `{"id": ..., "prediction": ...}` per line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tunix_rt_pipelines.lib.jsonl import Problem, read_jsonl_lines

PREDICTIONS_FILE = "predictions.jsonl"
META_FILE = "predictions_meta.json"  # provenance written beside it (inference.predict)


@dataclass
class Predictions:
    predictions: dict[str, str]
    problems: list[Problem] = field(default_factory=list)


def read_predictions(path: Path, known_ids: set[str] | None = None) -> Predictions:
    """Parse a predictions file; every malformed line, duplicate or unknown id is a `Problem`.

    The first prediction for an id is used; later duplicates are reported and ignored.
    """
    name = str(path)
    lines = read_jsonl_lines(path, name)
    out = Predictions({}, list(lines.problems))
    seen: dict[str, int] = {}
    for number, obj in lines.objects:
        if not isinstance(obj, dict):
            out.problems.append(Problem(name, number, "<row>", f"expected a JSON object, got {type(obj).__name__}"))
            continue
        pid, text = obj.get("id"), obj.get("prediction")
        if not isinstance(pid, str) or not pid:
            out.problems.append(Problem(name, number, "id", "missing or not a non-empty string"))
            continue
        if not isinstance(text, str):
            out.problems.append(Problem(name, number, "prediction", "missing or not a string"))
            continue
        if pid in seen:
            out.problems.append(Problem(name, number, "id", f"duplicate id {pid!r} (first on line {seen[pid]}); this one is ignored"))
            continue
        if known_ids is not None and pid not in known_ids:
            out.problems.append(Problem(name, number, "id", f"unknown id {pid!r}: not in the dataset"))
            continue
        seen[pid] = number
        out.predictions[pid] = text
    out.problems.sort(key=lambda p: p.line)
    return out


def predictions_jsonl(rows: Iterable[tuple[str, str]]) -> bytes:
    """Canonical bytes of a predictions file (stable key order, one object per line)."""
    return "".join(json.dumps({"id": i, "prediction": p}, ensure_ascii=False) + "\n" for i, p in rows).encode("utf-8")
