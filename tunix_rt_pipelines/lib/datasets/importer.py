"""Import a user's eval set or trace set into a dataset folder (`tunix-rt dataset import`).

The source is read with Hugging Face `datasets` (its `csv`, `json`, `parquet` builders, or
`load_from_disk` for a folder saved with `save_to_disk`), so every format `datasets` reads is read
the way the rest of the ecosystem reads it. Columns are mapped onto the data contract, each row is
validated, and the dataset is written only when every row is valid: a folder with `items.jsonl`,
`manifest.json` (source file and its sha256, the field map, count, composition, content sha256)
and a README stub, staged beside its final place and renamed into it.

A dataset version is immutable: importing different content under an existing key is refused;
importing the same content again changes nothing.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from tunix_rt_pipelines.lib.datasets.contract import (
    EVAL_MAX_ITEMS,
    EVAL_MIN_ITEMS,
    ROW_MODELS,
    SCHEMA_VERSION,
    UNCATEGORISED,
    UNSPECIFIED,
    DatasetKind,
    Manifest,
)
from tunix_rt_pipelines.lib.datasets.generate import manifest_bytes
from tunix_rt_pipelines.lib.datasets.reader import ITEMS_FILE, MANIFEST_FILE, canonical_jsonl, composition, read_dataset
from tunix_rt_pipelines.lib.files import atomic_write_bytes, staged_dir
from tunix_rt_pipelines.lib.hashing import sha256_bytes, sha256_file, tree_sha256
from tunix_rt_pipelines.lib.jsonl import Problem

IMPORTER_NAME = "tunix-rt dataset import"
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Contract fields per kind, in the order the manifest lists them; the required ones must map to a column.
FIELDS: dict[str, tuple[str, ...]] = {"eval": ("id", "prompt", "ground_truth", "category", "difficulty"),
                                      "traces": ("id", "prompt", "steps", "answer", "category", "difficulty")}
REQUIRED: dict[str, tuple[str, ...]] = {"eval": ("prompt", "ground_truth"), "traces": ("prompt", "answer")}
BUILDERS = {".csv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}


class DatasetImportError(ValueError):
    """The source cannot be imported; `problems` holds every reason, one `SOURCE:ROW: FIELD: message` each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); first: {problems[0]}")


@dataclass(frozen=True)
class ImportResult:
    folder: Path
    manifest: Manifest
    written: bool  # False: the same content was already there under this key


def read_source(source: Path, split: str | None = None) -> tuple[list[dict], list[str]]:
    """Every record of `source` as a dict, and its column names, read by Hugging Face `datasets`."""
    import datasets

    # datasets logs a reader's failure with its traceback before raising it; the error we raise says it once.
    verbosity, progress = datasets.logging.get_verbosity(), datasets.is_progress_bar_enabled()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    datasets.disable_progress_bars()
    try:
        return _read_with_datasets(datasets, source, split)
    finally:
        datasets.logging.set_verbosity(verbosity)
        if progress:
            datasets.enable_progress_bars()


def _read_with_datasets(datasets, source: Path, split: str | None) -> tuple[list[dict], list[str]]:
    name = source.name
    if source.is_dir():
        loaded = datasets.load_from_disk(str(source), keep_in_memory=True)
        if isinstance(loaded, datasets.DatasetDict):
            if split is None and len(loaded) == 1:
                split = next(iter(loaded))
            if split not in loaded:
                raise DatasetImportError([Problem(name, 0, "<split>", f"the saved dataset has splits {sorted(loaded)}; choose one with --split")])
            loaded = loaded[split]
        return loaded.to_list(), list(loaded.column_names)
    builder = BUILDERS.get(source.suffix.lower())
    if builder is None:
        raise DatasetImportError([Problem(name, 0, "<file>", f"unsupported file type {source.suffix or '(none)'!r}; "
                                    "use .jsonl, .json, .csv, .parquet or a folder saved with datasets' save_to_disk")])
    with tempfile.TemporaryDirectory(prefix="tunix-rt-import-") as cache:  # datasets' Arrow cache: nothing left behind
        def load(**kwargs):
            return datasets.load_dataset(builder, data_files=str(source), split=split or "train", cache_dir=cache,
                                         keep_in_memory=True, **kwargs)

        loaded = load()
        if builder == "csv":  # every cell as text: "007" stays "007", never the integer 7
            loaded = load(features=datasets.Features({c: datasets.Value("string") for c in loaded.column_names}))
        return loaded.to_list(), list(loaded.column_names)


def _text(value: object) -> str | None:
    """A cell as contract text: strings as they are, integers and finite floats printed, empty as missing."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return str(value).lower()
    if isinstance(value, float):
        return None if math.isnan(value) else (str(int(value)) if value.is_integer() else repr(value))
    if isinstance(value, (int, str)):
        return str(value) if str(value).strip() else None
    return None


def _steps(value: object) -> list[dict] | str:
    """A steps cell as contract steps: a list (of strings or {type, content} objects) or newline-separated text."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list):
        return f"expected a list of steps or newline-separated text, got {type(value).__name__}"
    steps = []
    for i, step in enumerate(value):
        if isinstance(step, dict):
            steps.append({"i": i, "type": step.get("type", "compute"), "content": _text(step.get("content"))})
        else:
            steps.append({"i": i, "type": "compute", "content": _text(step)})
    return steps


def _category(value: object) -> str:
    """Categories as lower snake case ("Unit Conversion" -> "unit_conversion"); missing: `uncategorised`."""
    text = _text(value)
    if text is None:
        return UNCATEGORISED
    slug = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    return slug if slug and slug[0].isalpha() else f"c_{slug}" if slug else UNCATEGORISED


def derive_id(prompt: object, answer: object) -> str:
    """A stable id from content: the same prompt and answer get the same id under any key, map or category."""
    return f"row-{sha256_bytes(json.dumps([prompt, answer], ensure_ascii=False).encode('utf-8'))[:16]}"


def resolve_field_map(kind: DatasetKind, columns: list[str], overrides: dict[str, str], name: str) -> dict[str, str]:
    """Contract field -> source column: a same-named column unless overridden; unknown names refused."""
    problems = [Problem(name, 0, f, f"not a field of a {kind} row; fields are {', '.join(FIELDS[kind])}") for f in overrides
                if f not in FIELDS[kind]]
    problems += [Problem(name, 0, f, f"no column {c!r} in the source; its columns are {', '.join(columns)}")
                 for f, c in overrides.items() if f in FIELDS[kind] and c not in columns]
    mapping = {f: overrides.get(f, f) for f in FIELDS[kind] if overrides.get(f, f) in columns}
    problems += [Problem(name, 0, f, f"no column maps to it; add --map {f}=COLUMN (columns: {', '.join(columns)})")
                 for f in REQUIRED[kind] if f not in mapping and f not in overrides]
    if problems:
        raise DatasetImportError(problems)
    return mapping


def build_rows(records: list[dict], kind: DatasetKind, mapping: dict[str, str], name: str) -> tuple[list, list[Problem]]:
    """Contract rows from source records; every problem as `SOURCE:ROW: FIELD: message` (row 1 = first record)."""
    model, rows, problems, first_seen = ROW_MODELS[kind], [], [], {}
    for number, record in enumerate(records, start=1):
        obj: dict[str, object] = {}
        for field in FIELDS[kind]:
            column = mapping.get(field)
            value = record.get(column) if column else None
            if field == "steps":
                obj[field] = _steps(value)
            elif field == "category":
                obj[field] = _category(value)
            elif field == "difficulty":
                obj[field] = (_text(value) or UNSPECIFIED).strip().lower()
            elif _text(value) is not None or field != "id":
                obj[field] = _text(value)
        if isinstance(obj.get("steps"), str):
            problems.append(Problem(name, number, mapping["steps"], obj["steps"]))
            continue
        if "id" not in obj:
            obj["id"] = derive_id(obj.get("prompt"), obj.get("ground_truth" if kind == "eval" else "answer"))
        try:
            row = model.model_validate(obj)
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                field = str(e["loc"][0]) if e["loc"] else "<row>"
                message = "missing or empty" if obj.get(field, "") is None else e["msg"]
                column = mapping.get(field, field)
                problems.append(Problem(name, number, column, message if column == field else f"{message} (the contract's {field})"))
            continue
        if row.id in first_seen:
            problems.append(Problem(name, number, mapping.get("id", "id"), f"duplicate id {row.id!r} (first in row {first_seen[row.id]}); "
                                    "ids must be unique (a derived id repeats when two rows have the same content)"))
            continue
        first_seen[row.id] = number
        rows.append(row)
    if not records:
        problems.append(Problem(name, 0, "<file>", "no rows"))
    elif kind == "eval" and not problems and not EVAL_MIN_ITEMS <= len(rows) <= EVAL_MAX_ITEMS:
        problems.append(Problem(name, 0, "<file>", f"an eval set holds {EVAL_MIN_ITEMS}-{EVAL_MAX_ITEMS} items, this source has {len(rows)}"))
    return rows, problems


def _readme(manifest: Manifest) -> str:
    source = manifest.generator
    return (f"# {manifest.key}\n\nA {manifest.kind} dataset of {manifest.count} rows, imported with `{IMPORTER_NAME}` from "
            f"`{source['source']}` (sha256 `{source['source_sha256']}`).\n\nField map (contract field: source column): "
            f"{', '.join(f'`{f}`: `{c}`' for f, c in source['field_map'].items())}.\n\n"
            "This version is immutable: to change the data, import it under a new key.\n")


def _root_cause(exc: BaseException) -> str:
    """The innermost error's first line: `datasets` wraps a parser's error in one whose text embeds a traceback."""
    while (exc.__cause__ or exc.__context__) is not None:
        exc = exc.__cause__ or exc.__context__
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


def import_dataset(source: Path, key: str, kind: DatasetKind, datasets_dir: Path, overrides: dict[str, str] | None = None,
                   split: str | None = None) -> ImportResult:
    """Validate every row of `source` and write `datasets_dir/key/`, or raise `DatasetImportError` and write nothing."""
    source, name = Path(source), Path(source).name
    if not KEY_PATTERN.fullmatch(key):
        raise DatasetImportError([Problem(name, 0, "--key", f"{key!r} is not a dataset key: lowercase letters, digits and '-', e.g. my-evals-v1")])
    if not source.exists():
        raise DatasetImportError([Problem(str(source), 0, "<file>", "no such file or folder")])
    try:
        records, columns = read_source(source, split)
    except DatasetImportError:
        raise
    except Exception as exc:  # datasets/pyarrow/pandas raise their own types for a file they cannot parse
        kind_of = "a saved dataset folder" if source.is_dir() else BUILDERS.get(source.suffix.lower(), "data")
        message = _root_cause(exc)
        raise DatasetImportError([Problem(name, 0, "<file>", f"cannot be read as {kind_of}: {message}")]) from exc
    mapping = resolve_field_map(kind, columns, dict(overrides or {}), name)
    rows, problems = build_rows(records, kind, mapping, name)
    if problems:
        raise DatasetImportError(problems)
    items = canonical_jsonl(rows)
    source_sha = sha256_file(source) if source.is_file() else tree_sha256(source, sorted(p for p in source.rglob("*") if p.is_file()))
    version = re.search(r"-v(\d+)$", key)
    manifest = Manifest(key=key, version=version.group(1) if version else "1", kind=kind, schema_version=SCHEMA_VERSION,
                        count=len(rows), sha256=sha256_bytes(items), composition=composition(rows),
                        generator={"name": IMPORTER_NAME, "source": name, "source_sha256": source_sha, "field_map": mapping,
                                   "split": split, "ignored_columns": sorted(set(columns) - set(mapping.values()))})
    folder = datasets_dir / key
    if folder.exists():
        existing = read_dataset(folder)
        if existing.sha256 == manifest.sha256 and not existing.all_problems:
            return ImportResult(folder, existing.manifest, written=False)
        raise DatasetImportError([Problem(str(folder), 0, "--key", f"already holds a different dataset (sha256 {existing.sha256[:12] or 'unreadable'}…, "
                                    f"this import {manifest.sha256[:12]}…); a dataset version is immutable: import under a new key")])
    with staged_dir(folder) as tmp:
        atomic_write_bytes(tmp / ITEMS_FILE, items)
        atomic_write_bytes(tmp / MANIFEST_FILE, manifest_bytes(manifest))
        atomic_write_bytes(tmp / "README.md", _readme(manifest).encode("utf-8"))
        check = read_dataset(tmp)  # the same reader the pipeline's checks use: what was written reads back clean
        if [p for p in check.all_problems if p.field != "key"]:  # the staged folder's name is not the key yet
            raise DatasetImportError(check.all_problems)
    return ImportResult(folder, manifest, written=True)
