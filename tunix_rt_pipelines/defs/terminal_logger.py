"""`tunix_rt_terminal`: the log a person reads in the terminal `tunix-rt run` was typed into.

Dagster's console logger appends the whole stack of every failed step to its line; here a
failure is its step and its one-line cause (a `dg.Failure`'s description, else the innermost
exception as `Type: message`), and every DEBUG event stays in the event log (the UI). The UI's
runs still use Dagster's own `console` logger; `tunix-rt run` selects this one.
"""

from __future__ import annotations

import logging
import sys

import dagster as dg

LOGGER_NAME = "tunix_rt_terminal"
_INTERRUPTED = "DagsterExecutionInterruptedError"


def one_line_cause(failure_data) -> str:
    """The one-line reason a step failed, from its `StepFailureData` (or any object with `.error`)."""
    user = getattr(failure_data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description.strip().splitlines()[0]
    error = getattr(failure_data, "error", None)
    if error is None:
        return "unknown error"
    while error.cause is not None:  # Dagster wraps user code errors; the user's exception is innermost
        error = error.cause
    message = (error.message or "").strip()
    for prefix in (f"{error.cls_name}: ", "dagster._core.definitions.events.Failure: "):
        message = message.removeprefix(prefix)
    first = message.splitlines()[0] if message else ""
    if not first:
        return error.cls_name or "unknown error"
    return f"{error.cls_name}: {first}" if error.cls_name and error.cls_name != "Failure" else first


class _TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        text = str(meta.get("orig_message") or record.getMessage())
        if event is not None and event.is_step_failure:
            cause = one_line_cause(event.step_failure_data)
            # Cancelled (Ctrl-C, the UI's Terminate): not a failure of the step's code.
            text = "stopped: the run was cancelled" if cause.startswith(_INTERRUPTED) else f"FAILED: {cause}"
        elif text.startswith("Dependencies for step ") and text.endswith("Not executing."):
            text = "skipped: a step it needs failed or was skipped"
        else:
            text = text.strip().splitlines()[0] if text.strip() else text
        stamp = self.formatTime(record, "%H:%M:%S")
        return f"{stamp} {step + ': ' if step else ''}{text}"


@dg.logger(config_schema={"log_level": dg.Field(str, default_value="INFO", description="DEBUG, INFO, WARNING or ERROR.")},
           description="One line per event, a failure as its step and its one-line cause (no stack); for the terminal.")
def terminal_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = str(init_context.logger_config["log_level"]).upper()
    log = logging.getLogger(f"{LOGGER_NAME}.{init_context.run_id or 'run'}")
    log.setLevel(level)
    log.propagate = False
    log.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter())
    log.addHandler(handler)
    return log
