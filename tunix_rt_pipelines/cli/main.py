"""`tunix-rt`: the project's command line, beside the Dagster UI.

Every command prints a clear message and exits non-zero on bad input; an unexpected error is
reported in one line (set TUNIX_RT_DEBUG=1 for the traceback), never as the interface.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from tunix_rt_pipelines.cli import datasets, evaluation, pipeline, registry, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunix-rt", description="tunix-rt pipelines: prove fine-tuning helped, ship the better model.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (pipeline, datasets, evaluation, registry, serve):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one readable line, not a traceback
        if os.environ.get("TUNIX_RT_DEBUG"):
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
