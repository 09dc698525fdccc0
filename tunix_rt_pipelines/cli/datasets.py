"""`tunix-rt validate-dataset`, `tunix-rt generate-datasets` and `tunix-rt dataset import`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tunix_rt_pipelines import environment


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate-dataset", help="Check a dataset folder or a bare .jsonl against the data contract.",
                       description="Exit 0 with a one-line summary when valid; else exit 1 and print every problem as FILE:LINE: FIELD: message.")
    p.add_argument("path", help="a dataset folder (manifest.json + items.jsonl), a .jsonl file, or a dataset key (golden-v1)")
    p.set_defaults(handler=validate_dataset)

    p = sub.add_parser("generate-datasets", help="Rebuild golden-v1 and reasoning-traces-v1 and -v2 from the seeds in their manifests.")
    p.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing; exit 1 if any differ")
    p.add_argument("--datasets-dir", default=None, help="default: the built-in datasets inside the package (in a checkout: tunix_rt_pipelines/builtin_datasets/)")
    p.set_defaults(handler=generate_datasets)

    group = sub.add_parser("dataset", help="Bring your own data: `dataset import`.").add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    p = group.add_parser("import", help="Import an eval set or trace set (.jsonl, .json, .csv, .parquet, or a save_to_disk folder).",
                         description="Reads SOURCE with Hugging Face datasets, maps its columns onto the data contract and writes "
                                     "DATASETS_DIR/KEY/ (items.jsonl, manifest.json, README.md). Every bad row is printed as "
                                     "SOURCE:ROW: FIELD: message (row 1 = the first record) and nothing is written. A key is immutable: "
                                     "different content under an existing key is refused, the same content again is a no-op.")
    p.add_argument("source", help="the file or folder to import")
    p.add_argument("--key", required=True, help="the new dataset's key, e.g. my-evals-v1 (lowercase letters, digits, '-')")
    p.add_argument("--kind", required=True, choices=("eval", "traces"), help="eval: id, prompt, ground_truth, category, difficulty; "
                                                                               "traces: id, prompt, steps, answer, category, difficulty")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="read contract FIELD from source COLUMN (repeatable); unmapped fields are read from a same-named column")
    p.add_argument("--category", metavar="COLUMN", help="same as --map category=COLUMN (missing: 'uncategorised')")
    p.add_argument("--difficulty", metavar="COLUMN", help="same as --map difficulty=COLUMN (missing: 'unspecified')")
    p.add_argument("--steps", metavar="COLUMN", help="same as --map steps=COLUMN: a list, or one step per line")
    p.add_argument("--split", help="the split to read (a saved DatasetDict with several splits needs one; files: default 'train')")
    p.add_argument("--datasets-dir", default=None, help=f"where to write; default ${environment.DATASETS_ENV}, else ./datasets")
    p.set_defaults(handler=import_dataset)


def validate_dataset(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.datasets.reader import read_dataset

    path = Path(args.path)
    if not path.exists() and environment.dataset_folder(args.path).is_dir():  # a key: the dataset as the pipeline reads it
        path = environment.dataset_folder(args.path)
    data = read_dataset(path)
    problems = data.all_problems
    if problems:
        for problem in problems:
            print(problem)
        print(f"{args.path}: INVALID, {len(problems)} problem(s)", file=sys.stderr)
        return 1
    version = f" v{data.manifest.version}" if data.manifest else ""
    print(f"{args.path}: OK, {data.key}{version}, {len(data.rows)} {data.kind} rows, sha256 {data.sha256[:12]}")
    return 0


def generate_datasets(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.datasets.generate import regenerate

    root = Path(args.datasets_dir) if args.datasets_dir else environment.datasets_dir()
    if args.check:
        differing = regenerate(root, check=True)
        for name in differing:
            print(f"{root / name}: differs from what the generator makes")
        print(f"{root}: {'OK, byte-identical' if not differing else f'{len(differing)} file(s) differ'}")
        return 1 if differing else 0
    regenerate(root)
    print(f"{root}: regenerated golden-v1, reasoning-traces-v1 and reasoning-traces-v2")
    return 0


def import_dataset(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.datasets.importer import DatasetImportError
    from tunix_rt_pipelines.lib.datasets.importer import import_dataset as run_import

    overrides = {}
    for item in args.map:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            print(f"error: --map {item!r}: expected FIELD=COLUMN, e.g. --map ground_truth=answer", file=sys.stderr)
            return 2
        overrides[field.strip()] = column
    overrides.update({f: getattr(args, f) for f in ("category", "difficulty", "steps") if getattr(args, f)})
    target = Path(args.datasets_dir).resolve() if args.datasets_dir else environment.project_datasets_dir()
    try:
        result = run_import(Path(args.source), args.key, args.kind, target, overrides, args.split)
    except DatasetImportError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{args.source}: NOT IMPORTED, {len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return 1
    m = result.manifest
    verb = "imported" if result.written else "unchanged (the same content is already there)"
    print(f"{result.folder}: {verb}, {m.key} v{m.version}, {m.count} {m.kind} rows, sha256 {m.sha256[:12]}, "
          f"field map {', '.join(f'{f}<-{c}' for f, c in m.generator['field_map'].items())}")
    return 0
