"""`tunix-rt registry list|show|export|leaderboard|promote|alias|migrate`.

The registry is the one `model_registry` uses: `$TUNIX_RT_REGISTRY_URL` (PostgreSQL) when set,
else the SQLite file in the project home; files in `$TUNIX_RT_REGISTRY_STORE` or
`<project home>/registry`. Unknown names, versions and aliases end in a one-line error that
lists what exists (exit 1).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tunix_rt_pipelines import environment

_MAX_OFFSET = 2**63 - 1  # the database's INTEGER range; larger values cannot be sent to it


def _integer(text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {text[:40]}")
    return value


def _positive(text: str) -> int:
    return _integer(text, 1, 1000)  # the documented page size bound


def _non_negative(text: str) -> int:
    return _integer(text, 0, _MAX_OFFSET)


def _paging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default=None, help="only this model name")
    p.add_argument("--limit", type=_positive, default=20, help="rows per page (default 20, at most 1000)")
    p.add_argument("--offset", type=_non_negative, default=0, help="rows to skip (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("registry", help="List, show, export and rank registered models.",
                            description="The model registry: versions with provenance and metrics, aliases (champion), the leaderboard.")
    cmds = parser.add_subparsers(dest="registry_command", required=True, metavar="SUBCOMMAND")

    p = cmds.add_parser("list", help="Versions, newest first.")
    _paging(p)
    p.set_defaults(handler=list_versions)

    p = cmds.add_parser("leaderboard", help="Every version ranked by the locked metric (score, then CI low, n, age).")
    _paging(p)
    p.set_defaults(handler=leaderboard)

    p = cmds.add_parser("show", help="One version: provenance, metrics snapshot, aliases, gate verdict.")
    p.add_argument("name")
    p.add_argument("ref", metavar="VERSION|ALIAS", help="a version number (3 or v3), an alias (champion) or latest")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=show)

    p = cmds.add_parser("export", help="Copy a version's checkpoint into DEST and verify its sha256.",
                        description="DEST must not exist or be empty. The copy is verified before it takes DEST's place, "
                                    "so a tampered registry copy is refused and DEST is left untouched.")
    p.add_argument("name")
    p.add_argument("ref", metavar="VERSION|ALIAS")
    p.add_argument("dest", type=Path)
    p.add_argument("--adapter-only", action="store_true", help="only the LoRA adapter (for PeftModel.from_pretrained on the base model)")
    p.set_defaults(handler=export)

    p = cmds.add_parser("promote", help="Register a checkpoint with its evaluation.json (the same guards as the pipeline).")
    p.add_argument("checkpoint", type=Path, help="a folder saved with save_pretrained")
    p.add_argument("--evaluation", type=Path, default=None, help="its evaluation.json (per-item results); required unless --force")
    p.add_argument("--further-evaluation", type=Path, action="append", default=[], metavar="EVALUATION",
                   help="its evaluation.json on a further eval set (repeatable); recorded beside the primary score, never deciding")
    p.add_argument("--name", required=True, help="registry name, e.g. tunix-rt-tiny")
    p.add_argument("--run-id", default="", help="the Dagster run (or sweep trial) that produced it")
    p.add_argument("--run-failed", action="store_true", help="that run failed (refused unless --force)")
    p.add_argument("--force", action="store_true", help="override the overridable guards; recorded on the version, never champion")
    p.add_argument("--promoted-by", default=f"cli:{environment.get_environment()}", help="recorded on the version")
    p.set_defaults(handler=promote)

    p = cmds.add_parser("alias", help="Point an alias (e.g. champion) at a version, by hand; the move is recorded.")
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("ref", metavar="VERSION|ALIAS")
    p.add_argument("--reason", default="moved by hand")
    p.add_argument("--moved-by", default="cli")
    p.set_defaults(handler=alias)

    p = cmds.add_parser("migrate", help="Create or upgrade the registry schema (explicit in production).")
    p.set_defaults(handler=migrate)


def _open():
    """The registry; its schema is created/upgraded on first use except in production (`migrate`)."""
    from tunix_rt_pipelines.lib.registry.registry import default_root, open_registry
    from tunix_rt_pipelines.lib.registry.store import resolve_url

    auto = environment.get_environment() != "prod"
    return open_registry(resolve_url(), default_root(), environment.datasets_dir(), auto_migrate=auto)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    for line in [[c.upper() for c in columns], *cells]:
        print("  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip())


def _print_page(page, rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"total": page.total, "limit": page.limit, "offset": page.offset, "items": rows}, indent=1, default=str))
        return
    if rows:
        _table(rows, columns)
        print(f"rows {page.offset + 1}-{page.offset + len(rows)} of {page.total}")
    else:
        print(f"no versions at offset {page.offset} ({page.total} in total)" if page.total else "no versions registered")


def _move(move) -> str:
    return f"{move.alias}: {'(none)' if move.from_version is None else f'v{move.from_version}'} -> v{move.to_version}"


def _summary(v) -> dict[str, Any]:
    return {"name": v.name, "version": v.version, "aliases": ",".join(v.aliases) or "-", "score": _fmt(v.score),
            "ci95": f"[{_fmt(v.ci95_low)}, {_fmt(v.ci95_high)}]", "n": v.n if v.n is not None else "-",
            "dataset": f"{v.dataset_key} {v.dataset_sha256[:8]}", "forced": "yes" if v.forced else "no",
            "sha256": v.sha256[:12], "created": v.created_at.strftime("%Y-%m-%d %H:%M")}


def list_versions(args: argparse.Namespace) -> int:
    registry = _open()
    page = registry.versions(args.name, limit=args.limit, offset=args.offset)
    rows = [v.to_dict() for v in page.items] if args.json else [_summary(v) for v in page.items]
    _print_page(page, rows, ["name", "version", "aliases", "score", "ci95", "n", "dataset", "forced", "sha256", "created"], args.json)
    return 0


def leaderboard(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.registry.versions import leaderboard_rows, score_columns

    registry = _open()
    page = registry.leaderboard(args.name, limit=args.limit, offset=args.offset)
    rows = leaderboard_rows(page)
    further = score_columns(rows)  # score:<key>, one per further eval set on the page
    if not args.json:
        rows = [{**r, "score": _fmt(r["score"]), "ci95": f"[{_fmt(r['ci95_low'])}, {_fmt(r['ci95_high'])}]", "n": r["n"] or "-",
                 "aliases": r["aliases"] or "-", "forced": "yes" if r["forced"] else "no", **{c: _fmt(r[c]) for c in further}} for r in rows]
    _print_page(page, rows, ["rank", "name", "version", "score", "ci95", "n", "dataset", "dataset_sha256", *further, "evaluator", "aliases",
                             "forced"], args.json)
    return 0


def show(args: argparse.Namespace) -> int:
    v = _open().get(args.name, args.ref)
    if args.json:
        print(json.dumps(v.to_dict(), indent=1, default=str))
        return 0
    print(f"{v.name} v{v.version}  (aliases: {', '.join(v.aliases) or 'none'})")
    correct = f" ({v.correct}/{v.n})" if v.n is not None else ""
    for key, value in [("sha256", v.sha256), ("uri", v.artifact_uri), ("size", f"{v.size_bytes} bytes"),
                       ("score", f"{_fmt(v.score)}{correct}, 95% CI [{_fmt(v.ci95_low)}, {_fmt(v.ci95_high)}]"),
                       ("dataset", f"{v.dataset_key} {v.dataset_sha256}"), ("evaluator", f"{v.evaluator} (spec {v.spec_sha256[:12]})"),
                       ("source", f"{v.source_asset}, run {v.run_id or '-'}, data version {v.data_version}"),
                       ("created", f"{v.created_at.isoformat()} by {v.promoted_by}"),
                       ("forced", "yes: " + "; ".join(o["message"] for o in v.overridden) if v.forced else "no"),
                       ("gate", v.gate.get("reason", "-")), ("training", json.dumps(v.training_config, sort_keys=True))]:
        print(f"  {key:<10} {value}")
    for category, g in (v.by_category or {}).items():
        print(f"  {category:<16} {_fmt(g['score'])} ({g['correct']}/{g['n']}) [{_fmt(g['ci95'][0])}, {_fmt(g['ci95'][1])}]")
    for s in v.eval_sets:
        print(f"  eval set {s.dataset_key}{' (primary)' if s.is_primary else ''}: {_fmt(s.score)} ({s.correct}/{s.n}), "
              f"95% CI [{_fmt(s.ci95_low)}, {_fmt(s.ci95_high)}], sha256 {s.dataset_sha256[:12]}")
    return 0


def export(args: argparse.Namespace) -> int:
    version, size = _open().export(args.name, args.ref, args.dest, adapter_only=args.adapter_only)
    what = "the LoRA adapter of " if args.adapter_only else ""
    print(f"exported {what}{version.name} v{version.version} ({size} bytes) to {args.dest}; sha256 {version.sha256} verified")
    return 0


def promote(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.models.loading import describe_folder
    from tunix_rt_pipelines.lib.registry.candidate import candidate_from_evaluation
    from tunix_rt_pipelines.lib.registry.promote import promote as promote_candidate

    ref = describe_folder(str(args.checkpoint), args.checkpoint.resolve())
    candidate = candidate_from_evaluation(args.name, ref.path, ref.sha256, str(args.evaluation) if args.evaluation else None,
                                          source_asset="cli", run_id=args.run_id, promoted_by=args.promoted_by,
                                          run_failed=args.run_failed, further=[str(p) for p in args.further_evaluation])
    result = promote_candidate(_open(), candidate, force=args.force)
    v = result.version
    print(f"{'registered' if result.created else 'already registered as'} {v.name} v{v.version} (sha256 {v.sha256[:12]}); "
          f"gate: {result.gate.reason}" + (f"; forced over: {len(result.overridden)} guard failure(s)" if result.overridden else ""))
    for move in result.alias_moves:
        print(f"  {_move(move)}")
    return 0


def alias(args: argparse.Namespace) -> int:
    move = _open().set_alias(args.name, args.alias, args.ref, moved_by=args.moved_by, reason=args.reason)
    print(f"{args.name} {_move(move)}")
    return 0


def migrate(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.registry.registry import Registry, default_root
    from tunix_rt_pipelines.lib.registry.store import resolve_url, safe_url

    registry = Registry(resolve_url(), default_root(), environment.datasets_dir())
    before, after = registry.migrate()  # `alembic upgrade head`, under the registry's schema lock
    print(f"registry at {safe_url(registry.engine)}: schema {before or 'empty'} -> {after}" if before != after else
          f"registry at {safe_url(registry.engine)}: schema already at {after}")
    return 0
