"""`tunix-rt validate-dataset` and `tunix-rt generate-datasets`."""

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

    p = sub.add_parser("generate-datasets", help="Rebuild golden-v1 and reasoning-traces-v1 from the seeds in their manifests.")
    p.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing; exit 1 if any differ")
    p.add_argument("--datasets-dir", default=None, help="default: the built-in datasets inside the package (in a checkout: tunix_rt_pipelines/builtin_datasets/)")
    p.set_defaults(handler=generate_datasets)


def validate_dataset(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.datasets.reader import read_dataset

    path = Path(args.path)
    if not path.exists() and (environment.datasets_dir() / args.path).is_dir():  # a key: the dataset as the pipeline reads it
        path = environment.datasets_dir() / args.path
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
    print(f"{root}: regenerated golden-v1 and reasoning-traces-v1")
    return 0
