"""`tunix-rt run`, `tunix-rt report` and `tunix-rt ui`: the main job on the project-local instance.

All three use the same Dagster home (`.tunix_rt/dagster_home`, SQLite, or $DAGSTER_HOME), so a
run started from the command line is in the UI afterwards, under its job, and `report` reads it
back. `run` launches through the instance from a code server (cli/launch.py), as the UI does.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tunix_rt_pipelines import environment

MAIN_JOB = "base_vs_trained_job"
DAGSTER_YAML = """\
# Written by tunix-rt the first time it used this folder: a project-local SQLite instance.
telemetry:
  enabled: false
concurrency:
  pools:
    # One step at a time in each pool: the `gpu` pool never puts two steps on one card.
    default_limit: 1
"""
# Smoke settings: every asset of the main job runs (not the sweep, not the LLM judge), on a few items and
# steps: 16 s for the run on 2 idle cores, minutes on busy ones (README, "Using it").
SMOKE_CONFIG = {"ops": {"trained_checkpoint": {"config": {"max_steps": 20, "save_steps": 10, "logging_steps": 5, "max_train_samples": 640}},
                        "base_predictions": {"config": {"max_items": 20}},
                        "trained_predictions": {"config": {"max_items": 20}}}}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help=f"Run {MAIN_JOB} (or another job) on the project-local Dagster instance.")
    p.add_argument("--job", default=MAIN_JOB, help=f"job name (default {MAIN_JOB})")
    p.add_argument("--config", help="run config as a JSON or YAML file (ops: {asset: {config: {...}}})")
    p.add_argument("--smoke", action="store_true", help="tiny settings for the main job: 20 training steps and 20 golden items (not the sweep: sweep_smoke_job)")
    p.set_defaults(handler=run)

    p = sub.add_parser("report", help="Print the latest base-vs-trained result from the local instance.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=report)

    p = sub.add_parser("ui", help="Start the Dagster UI (dagster dev) on the project-local instance.")
    p.add_argument("--port", default="3000")
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(handler=ui)


def prepare_dagster_home() -> Path:
    """Point DAGSTER_HOME at the project-local home (unless set) and give it a dagster.yaml."""
    home = environment.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    # Fixed for every process started from here on (code server, run workers, Ray workers), whatever their cwd.
    os.environ[environment.HOME_ENV] = str(environment.project_home())
    return home


def _load_run_config(path: str | None, smoke: bool) -> dict[str, Any]:
    """The run config: --smoke's settings, with the --config file's on top of them (either may be absent)."""
    config = copy.deepcopy(SMOKE_CONFIG) if smoke else {}  # the caller adds loggers to it
    if not path:
        return config
    from tunix_rt_pipelines.lib.config_file import read_config_file

    return _merged(config, read_config_file(path))  # YAML or JSON by content; ConfigFileError is one line


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, nested mappings merged key by key."""
    out = dict(base)
    for key, value in override.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def build_main_job():
    """The job definition, for checking settings in this process before any run exists."""
    from tunix_rt_pipelines.definitions import defs

    return defs.resolve_job_def(MAIN_JOB)


def build_data_quality_job():
    from tunix_rt_pipelines.definitions import defs

    return defs.resolve_job_def("data_quality_job")


JOB_FACTORIES = {MAIN_JOB: build_main_job, "data_quality_job": build_data_quality_job}


def run(args: argparse.Namespace) -> int:
    if args.job not in JOB_FACTORIES:
        print(f"error: unknown job {args.job!r}; choose one of {', '.join(JOB_FACTORIES)}", file=sys.stderr)
        return 1
    from tunix_rt_pipelines.defs.run_config import run_config_problems
    from tunix_rt_pipelines.lib.config_file import ConfigFileError

    try:
        run_config = _load_run_config(args.config, args.smoke)
    except ConfigFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # The terminal gets INFO (progress, losses, failures); every DEBUG event is still in the UI.
    run_config.setdefault("loggers", {"tunix_rt_terminal": {"config": {"log_level": "INFO"}}})
    # Every setting is checked before the instance is touched: a config that cannot run creates nothing.
    problems = run_config_problems(JOB_FACTORIES[args.job](), run_config)
    if problems:
        where = args.config or "run config"
        if len(problems) == 1:
            print(f"error: {where}: {problems[0]}; no run was started", file=sys.stderr)
        else:
            print(f"error: {where}: {len(problems)} settings refused, no run was started:", file=sys.stderr)
            print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 2
    home = prepare_dagster_home()
    import dagster as dg

    from tunix_rt_pipelines.cli import launch, stale_runs

    print(f"running {args.job} on the Dagster instance in {home} ...", flush=True)
    with launch.sigterm_as_interrupt(), dg.DagsterInstance.get() as instance:
        run_id = None
        if not launch.queue_daemon_running(instance):  # with a daemon, its run monitoring does this
            for line in stale_runs.release_stale_runs(instance):
                print(line, flush=True)
        try:
            with launch.code_server() as port:
                try:
                    run_id, queued = launch.start(instance, port, args.job, run_config)
                    if queued:
                        print(f"run {run_id} queued; the daemon starts it when the queue allows", flush=True)
                    finished = launch.wait(instance, run_id)
                except KeyboardInterrupt:
                    if run_id is None:
                        raise
                    # Cancelled through the instance (as the UI's Terminate) while the code server still runs it.
                    finished = launch.cancel_after_interrupt(instance, run_id)
                    print(f"interrupted: run {run_id} {finished.status.value}", file=sys.stderr)
                    return 130
        except KeyboardInterrupt:
            print("interrupted before a run was started", file=sys.stderr)
            return 130
        except launch.LaunchError as exc:
            print(f"error: {exc}; no run was started" if run_id is None else f"error: {exc}", file=sys.stderr)
            return 1
        return _summarize(instance, args.job, finished)


def _summarize(instance, job: str, run) -> int:
    import dagster as dg

    if run.status == dg.DagsterRunStatus.SUCCESS:
        print(f"run {run.run_id} succeeded")
        if job == MAIN_JOB:
            print(format_report(latest_report(instance)))
        return 0
    # The failing step(s) and the one-line cause, last, where the user is looking.
    for line in run_failure_lines(instance, run.run_id):
        print(line, file=sys.stderr)
    status = {"FAILURE": "FAILED"}.get(run.status.value, run.status.value)  # e.g. CANCELED when terminated from the UI
    print(f"run {run.run_id} {status}; the full log: tunix-rt ui, then Runs", file=sys.stderr)
    return 1


def run_failure_lines(instance, run_id: str) -> list[str]:
    """`error: step <key> failed: <cause>` per failed step, else the run's own failure message."""
    import dagster as dg

    from tunix_rt_pipelines.defs.terminal_logger import one_line_cause

    steps = [f"error: step {e.dagster_event.step_key} failed: {one_line_cause(e.dagster_event.step_failure_data)}"
             for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE) if e.dagster_event]
    if steps:
        return steps
    runs = [e for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE) if e.dagster_event]
    return [f"error: {(runs[-1].dagster_event.message or 'the run failed').strip().splitlines()[0]}"] if runs else []


def latest_report(instance, artifacts_root: Path | None = None) -> dict[str, Any]:
    """The latest `base_vs_trained` materialization, with its run's provenance.

    Args:
        instance: The Dagster instance the runs are in.
        artifacts_root: Where its pointer is resolved; default: the code location's `storage` resource.
    """
    from tunix_rt_pipelines.lib.pointer import Pointer
    from tunix_rt_pipelines.resources.storage import PATH_KEY, SHA256_KEY, materialization

    event = materialization(instance, "base_vs_trained")
    if event is None:
        raise LookupError(f"no base_vs_trained result in {os.environ.get('DAGSTER_HOME')}; run `uv run tunix-rt run` first")
    meta = event.asset_materialization.metadata
    if artifacts_root is None:
        from tunix_rt_pipelines.definitions import defs

        artifacts_root = defs.resources["storage"].artifacts_root()
    comparison_path = Pointer(path=str(meta[PATH_KEY].value), sha256=str(meta[SHA256_KEY].value)).resolve(artifacts_root)
    comparison = json.loads(comparison_path.read_text())
    stats = instance.get_run_stats(event.run_id)
    return {
        "run_id": event.run_id,
        "base": {"model": comparison["base"].get("model", ""), "score": comparison["base_score"], "n": comparison["n"],
                 "ci95": comparison["base"]["ci95"], "model_sha256": comparison["base"]["model_sha256"]},
        "trained": {"score": comparison["trained_score"], "n": comparison["n"], "ci95": comparison["trained"]["ci95"],
                    "model_sha256": comparison["trained"]["model_sha256"]},
        "delta": comparison["delta"], "p_value": comparison["p_value"], "fixed": comparison["fixed"], "broken": comparison["broken"],
        "significant_improvement": comparison["significant_improvement"],
        "dataset_sha256": comparison["dataset_sha256"], "evaluator": comparison["evaluator"],
        "wall_seconds": round(stats.end_time - stats.start_time, 1) if stats.end_time and stats.start_time else None,
        "comparison_path": str(comparison_path),
        "registered": _registered_in_run(instance, event.run_id),
    }


def _registered_in_run(instance, run_id: str) -> dict[str, Any] | None:
    """The registry version `registered_model` produced in the same run, if it ran."""
    from tunix_rt_pipelines.resources.storage import materialization

    event = materialization(instance, "registered_model", run_id)
    if event is None or event.run_id != run_id:
        return None
    meta = event.asset_materialization.metadata
    return {"name": meta["model_name"].value, "version": meta["version"].value, "aliases": meta["aliases"].value,
            "created": meta["created"].value, "sha256": meta["sha256"].value, "uri": meta["uri"].value}


def format_report(r: dict[str, Any]) -> str:
    b, t = r["base"], r["trained"]
    return "\n".join([
        f"{r['evaluator']} on golden-v1 ({r['dataset_sha256'][:12]}), run {r['run_id']}"
        + (f", {r['wall_seconds']:.0f} s" if r["wall_seconds"] else ""),
        f"  base     {b['score']:.3f}  (n={b['n']}, 95% CI [{b['ci95'][0]:.3f}, {b['ci95'][1]:.3f}])  {b['model']}",
        f"  trained  {t['score']:.3f}  (n={t['n']}, 95% CI [{t['ci95'][0]:.3f}, {t['ci95'][1]:.3f}])",
        f"  delta    {r['delta']:+.3f}  ({r['fixed']} fixed, {r['broken']} broken)  McNemar exact p = {r['p_value']:.2g}"
        + ("  -> significant improvement" if r["significant_improvement"] else "  -> not a significant improvement"),
    ] + ([f"  registry {g['name']} v{g['version']} ({'new' if g['created'] else 'already registered'}; aliases: {g['aliases']})  {g['uri']}"]
         if (g := r.get("registered")) else []))


def report(args: argparse.Namespace) -> int:
    prepare_dagster_home()
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        failed = latest_failure(instance)
        try:
            r = latest_report(instance)
        except LookupError as exc:
            print("\n".join(failed) or f"error: {exc}", file=sys.stderr)
            return 1
    if failed and not any(r["run_id"] in line for line in failed):  # a failure newer than the result
        print("\n".join(failed) + "\nthe result below is from an earlier run:", file=sys.stderr)
    print(json.dumps(r, indent=2) if args.json else format_report(r))
    return 0


def latest_failure(instance) -> list[str]:
    """Lines naming the latest main-job run's failing steps and causes, if that run failed; [] otherwise."""
    import dagster as dg

    from tunix_rt_pipelines.defs.terminal_logger import one_line_cause

    runs = instance.get_runs(filters=dg.RunsFilter(job_name=MAIN_JOB), limit=1)
    if not runs or runs[0].status != dg.DagsterRunStatus.FAILURE:
        return []
    events = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    lines = [f"error: the latest run {runs[0].run_id} FAILED at step {e.dagster_event.step_key}: "
             f"{one_line_cause(e.dagster_event.step_failure_data)}" for e in events if e.dagster_event]
    return lines or [f"error: the latest run {runs[0].run_id} FAILED before any step ran; see tunix-rt ui, then Runs"]



def ui(args: argparse.Namespace) -> int:
    home = prepare_dagster_home()
    from tunix_rt_pipelines.cli import launch

    # The code location under the same name `tunix-rt run` gives its runs, so they list under their job.
    # A module, not the checkout's workspace.yaml: the same command works from an installed wheel.
    workspace = home / "workspace.yaml"
    workspace.write_text(f"# Written by tunix-rt ui on every start.\nload_from:\n  - python_module: {{module_name: {launch.MODULE}, "
                         f"location_name: {launch.LOCATION_NAME}, working_directory: {json.dumps(str(Path.cwd()))}}}\n")
    print(f"Dagster UI on http://{args.host}:{args.port} (instance: {home}); Ctrl-C to stop", flush=True)
    # An ignored SIGINT survives exec; dagster dev then maps SIGTERM to it too and ignores both
    # (a shell starts background jobs that way). Default handling lets the first Ctrl-C/SIGTERM stop it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    dagster = Path(sys.executable).with_name("dagster")
    os.execv(str(dagster), [str(dagster), "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)])
    return 0
