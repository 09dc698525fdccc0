"""Reading, validating and hashing dataset folders: `items.jsonl` plus `manifest.json`.

Lines are parsed by the project's one JSONL reader (`lib/jsonl.py`), then validated against the
data contract. Nothing is skipped silently: every problem is a `Problem` naming the file, the
1-based line, the field and what is wrong, so the CLI and the asset checks report all of them at
once. Line 0 means the file as a whole.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from tunix_rt_pipelines.lib.datasets.contract import (
    EVAL_MAX_ITEMS,
    EVAL_MIN_ITEMS,
    ROW_MODELS,
    DatasetKind,
    EvalItem,
    Manifest,
    TrainingTrace,
)
from tunix_rt_pipelines.lib.hashing import sha256_bytes
from tunix_rt_pipelines.lib.jsonl import Problem, canonical_line, read_jsonl_lines

ITEMS_FILE = "items.jsonl"
MANIFEST_FILE = "manifest.json"


@dataclass
class Dataset:
    """A dataset as read from disk: valid rows, every problem found, and its content hash."""

    path: Path
    kind: DatasetKind
    rows: list[BaseModel]
    problems: list[Problem]
    sha256: str
    line_count: int
    manifest: Manifest | None = None
    manifest_problems: list[Problem] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.manifest.key if self.manifest else self.path.stem

    @property
    def all_problems(self) -> list[Problem]:
        return self.manifest_problems + self.problems


def canonical_jsonl(rows: Iterable[BaseModel]) -> bytes:
    """Canonical bytes of a list of rows: what `items.jsonl` holds and what its sha256 covers."""
    return "".join(canonical_line(r.model_dump(mode="json")) + "\n" for r in rows).encode("utf-8")


def normalize_prompt(prompt: str) -> str:
    """Prompt identity for the overlap check: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", prompt).casefold().split())


def composition(rows: Iterable[EvalItem | TrainingTrace]) -> dict[str, dict[str, int]]:
    """Row counts by category, by difficulty, and by `category/difficulty`."""
    rows = list(rows)
    return {
        "by_category": dict(sorted(Counter(r.category for r in rows).items())),
        "by_difficulty": dict(sorted(Counter(r.difficulty for r in rows).items())),
        "by_category_difficulty": dict(sorted(Counter(f"{r.category}/{r.difficulty}" for r in rows).items())),
    }


def _line_of_key(text: str, key: str) -> int:
    """1-based line of the top-level `"key":` in a JSON document, else 1.

    Tracks nesting depth (outside strings) so a nested key of the same name, such as the
    category "count" inside `composition`, is not mistaken for the top-level `count`.
    """
    depth, in_string, escaped = 0, False, False
    needle = json.dumps(key) + ":"
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 1 and not in_string and line.strip().startswith(needle):
            return number
        for char in line:
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
    return 1


def _pydantic_problems(file: str, line: int, error: ValidationError, text: str | None = None) -> list[Problem]:
    out = []
    for e in error.errors(include_url=False):
        # Field names come from the file's own keys: escape them so one problem stays on one line.
        loc = ".".join(json.dumps(str(p), ensure_ascii=False)[1:-1] for p in e["loc"]) or "<row>"
        if text is not None:
            line = _line_of_key(text, str(e["loc"][0])) if e["loc"] else 1
        message = e["msg"]
        if e["type"] == "missing":
            message = "field required"
        elif e["type"] == "extra_forbidden":
            message = "unknown field (not in the data contract; remove it or fix its name)"
        out.append(Problem(file, line, loc, message))
    return out


def _guess_kind(objects: list[object]) -> DatasetKind:
    for obj in objects:
        if isinstance(obj, dict):
            if "candidate" in obj:
                return "calibration"
            if "ground_truth" in obj:
                return "eval"
            if "answer" in obj or "steps" in obj:
                return "traces"
    return "eval"


def read_jsonl(path: Path, kind: DatasetKind | None = None, display: str | None = None) -> Dataset:
    """Read and validate every line of a JSONL dataset file.

    Args:
        path: The `.jsonl` file.
        kind: `"eval"` or `"traces"`; guessed from the first object's fields when None.
        display: The file name used in problems (defaults to the path as given).

    Returns:
        A `Dataset` whose `rows` are the valid rows and whose `problems` list every bad line.
    """
    name = display or str(path)
    lines = read_jsonl_lines(path, name)
    if not lines.readable:
        return Dataset(path, kind or "eval", [], lines.problems, "", 0)
    problems, parsed = list(lines.problems), lines.objects

    kind = kind or _guess_kind([obj for _, obj in parsed])
    model = ROW_MODELS[kind]
    rows: list[BaseModel] = []
    first_seen: dict[str, int] = {}
    for number, obj in parsed:
        if not isinstance(obj, dict):
            problems.append(Problem(name, number, "<row>", f"expected a JSON object, got {type(obj).__name__}"))
            continue
        try:
            row = model.model_validate(obj)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(name, number, exc))
            continue
        if row.id in first_seen:
            problems.append(Problem(name, number, "id", f"duplicate id {row.id!r} (first on line {first_seen[row.id]})"))
            continue
        first_seen[row.id] = number
        rows.append(row)

    if not lines.line_count:
        problems.append(Problem(name, 0, "<file>", "no items: the dataset is empty"))
    problems.sort(key=lambda p: p.line)
    digest = sha256_bytes(b"".join(c + b"\n" for c in lines.canonical))
    return Dataset(path, kind, rows, problems, digest, lines.line_count)


def _check_manifest(manifest: Manifest, data: Dataset, name: str) -> list[Problem]:
    problems = []
    if manifest.count != data.line_count:
        problems.append(Problem(name, 0, "count", f"manifest says {manifest.count} items but {ITEMS_FILE} has {data.line_count}"))
    if manifest.sha256 != data.sha256:
        problems.append(
            Problem(name, 0, "sha256", f"manifest says {manifest.sha256[:12]}… but the content hashes to {data.sha256[:12]}…; "
                    "the items changed after the manifest was written (regenerate, or restore the original file)")
        )
    if not data.problems and manifest.composition != composition(data.rows):
        problems.append(Problem(name, 0, "composition", "does not match the items' categories and difficulties"))
    if manifest.kind == "eval" and not data.problems and not EVAL_MIN_ITEMS <= len(data.rows) <= EVAL_MAX_ITEMS:
        problems.append(Problem(name, 0, "count", f"an eval set holds {EVAL_MIN_ITEMS}-{EVAL_MAX_ITEMS} items, this one {len(data.rows)}"))
    return problems


def read_dataset(path: Path) -> Dataset:
    """Read a dataset folder (`manifest.json` + `items.jsonl`) or a bare `.jsonl` file.

    A folder's manifest is validated and cross-checked against the items (count, sha256,
    composition). Problems name files relative to the folder's parent, e.g. `golden-v1/items.jsonl`.
    """
    path = Path(path)
    if path.is_file():
        return read_jsonl(path)
    if not path.is_dir():
        return Dataset(path, "eval", [], [Problem(str(path), 0, "<path>", "no such dataset folder or .jsonl file")], "", 0)

    manifest_name, items_name = f"{path.name}/{MANIFEST_FILE}", f"{path.name}/{ITEMS_FILE}"
    manifest: Manifest | None = None
    manifest_problems: list[Problem] = []
    try:
        text = (path / MANIFEST_FILE).read_bytes().decode("utf-8")
        manifest = Manifest.model_validate_json(text)
    except FileNotFoundError:
        manifest_problems.append(Problem(manifest_name, 0, "<file>", "missing; every dataset folder needs a manifest.json"))
    except UnicodeDecodeError as exc:
        manifest_problems.append(Problem(manifest_name, 0, "<file>", f"not valid UTF-8 (byte {exc.start})"))
    except ValidationError as exc:
        manifest_problems.extend(_pydantic_problems(manifest_name, 1, exc, text))
    except OSError as exc:
        manifest_problems.append(Problem(manifest_name, 0, "<file>", f"cannot read: {exc.strerror or exc}"))

    data = read_jsonl(path / ITEMS_FILE, kind=manifest.kind if manifest else None, display=items_name)
    data.manifest = manifest
    if manifest is not None:
        if (path / ITEMS_FILE).is_file() and data.sha256:  # nothing to cross-check against an unreadable file
            manifest_problems.extend(_check_manifest(manifest, data, manifest_name))
        if manifest.key != path.name:
            manifest_problems.append(Problem(manifest_name, 0, "key", f"manifest key {manifest.key!r} differs from the folder name {path.name!r}"))
    data.manifest_problems = manifest_problems
    return data
