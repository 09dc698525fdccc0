"""`tunix-rt score` and `tunix-rt pin-evaluation`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tunix_rt_pipelines import environment


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="Score a predictions.jsonl with answer_correctness@v1.",
                       description="PREDICTIONS holds one {\"id\": ..., \"prediction\": ...} per line. Exit 1 if the "
                                   "predictions file has problems (they are listed; the score is still printed) or if any "
                                   "dataset item has no prediction (scored as wrong, counted; --allow-missing accepts that).")
    p.add_argument("predictions", help="predictions.jsonl")
    p.add_argument("--dataset", required=True, help="a dataset folder, a dataset key (e.g. golden-v1) or a .jsonl of eval items")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--allow-missing", action="store_true", help="exit 0 even when some items have no prediction (they still score 0)")
    p.set_defaults(handler=score)

    p = sub.add_parser("pin-evaluation", help="Pin the live answer_correctness and llm_judge spec hashes in their lock files.",
                       description="Refuses when a spec changed but its version did not: bump METRIC_VERSION (or "
                                   "LLM_JUDGE_VERSION) first. llm_judge is pinned for the judge model given here, which must "
                                   "be the one the `llm_judge` resource is configured with.")
    p.add_argument("--judge-backend", default="local", choices=["local", "openai", "rule"], help="the LLM judge's backend (default local)")
    p.add_argument("--judge-model", default="builtin:tiny", help="the LLM judge's model (default builtin:tiny)")
    p.set_defaults(handler=pin_evaluation)


def _resolve_dataset(value: str) -> Path:
    path = Path(value)
    if path.exists():
        return path
    by_key = environment.dataset_folder(value)
    if by_key.is_dir():
        return by_key
    raise FileNotFoundError(f"dataset {value!r} is neither a path nor a key under {environment.project_datasets_dir()} "
                            "or the built-in datasets")


def score(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.datasets.reader import read_dataset
    from tunix_rt_pipelines.lib.evaluation.metrics import score_dataset
    from tunix_rt_pipelines.lib.evaluation.predictions import read_predictions

    data = read_dataset(_resolve_dataset(args.dataset))
    if data.all_problems or data.kind != "eval":
        for problem in data.all_problems:
            print(problem, file=sys.stderr)
        reason = "is not an eval set" if data.kind != "eval" else f"has {len(data.all_problems)} problem(s)"
        print(f"error: dataset {args.dataset} {reason}; nothing scored", file=sys.stderr)
        return 1
    preds = read_predictions(Path(args.predictions), known_ids={r.id for r in data.rows})
    report = score_dataset(data.rows, preds.predictions)
    problems = [str(p) for p in preds.problems]
    missing = sum(1 for r in data.rows if r.id not in preds.predictions)
    if args.json:
        out = {**report.to_dict(), "dataset": {"key": data.key, "sha256": data.sha256}, "problems": problems, "missing": missing}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        lo, hi = report.ci95
        print(f"{report.metric}@v{report.version} on {data.key} ({data.sha256[:12]}): {report.score:.3f} "
              f"({report.correct}/{report.n}), 95% CI [{lo:.3f}, {hi:.3f}]")
        for title, table in (("category", report.by_category), ("difficulty", report.by_difficulty)):
            print(f"  by {title}: " + ", ".join(f"{k} {v['score']:.2f} ({v['correct']}/{v['n']})" for k, v in table.items()))
        for problem in problems:
            print(problem, file=sys.stderr)
    if missing:
        # The spec scores a missing item as wrong; a file covering part of the set must not pass quietly.
        print(f"{'warning' if args.allow_missing else 'error'}: {missing} of {report.n} items of {data.key} have no prediction in "
              f"{args.predictions} and were scored as wrong" + ("" if args.allow_missing else "; pass --allow-missing to accept that"),
              file=sys.stderr)
    return 1 if problems or (missing and not args.allow_missing) else 0


def pin_evaluation(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.evaluation import lock
    from tunix_rt_pipelines.lib.inference.judge_settings import JudgeSettings, build_judge

    judge = build_judge(JudgeSettings(backend=args.judge_backend, model=args.judge_model), environment.project_home() / "artifacts" / "models")
    try:
        pinned = lock.pin()
        judge_pinned = lock.pin_judge(judge)
    except lock.PinRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"pinned {pinned.metric}@v{pinned.version} at {pinned.sha256} in {lock.LOCK_FILE.name}")
    print(f"pinned {judge_pinned.metric}@v{judge_pinned.version} at {judge_pinned.sha256} in {lock.lock_file(judge.name).name}")
    if lock.DOC_FILE.exists() and lock.update_doc(lock.DOC_FILE):  # in a checkout: keep docs/evaluation.md in step
        print(f"updated the spec block in {lock.DOC_FILE.name}")
    return 0
