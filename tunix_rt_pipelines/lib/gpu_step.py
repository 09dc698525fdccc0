"""A GPU step's work as one plain call that can run in this process or in another one on another machine.

Every step of the `gpu` pool (training, predictions) splits in two. The Dagster side reads its
inputs' pointers, names the step function and builds a JSON request of pointers (paths relative to
the artifact root) and settings; the step function runs wherever the accelerator is, resolves
those pointers against the artifact root *as that machine mounts it*, writes its artifacts there
and returns a JSON result. In process (the default) the call is direct; on a Ray cluster the same
call runs as a Ray job (`tunix_rt_pipelines.remote.gpu_step`), and its result comes back in a file
under the artifact root, which both sides share. Nothing else crosses: no pickled objects.

A step function is `fn(request: dict, root: Path, progress: Callable[[str], None]) -> dict`.
Errors a user can fix are raised as `StepError` (one line, not retried); anything else is a crash.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.files import atomic_write_text

PACKAGE_PREFIX = "tunix_rt_pipelines.lib."  # step functions live in the library; nothing else is called by name
RESULTS_FOLDER = "steps"  # <artifact root>/steps/<run id>/<step key>.json: a remote step's outcome


class StepError(Exception):
    """A step failed for a reason the user can act on (bad data, an unloadable model, a refused setting).

    `retryable` is False for those; True for a failure a rerun may get past (a worker that died)."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class GpuStep:
    """One call: which step function, with which request."""

    function: str  # "tunix_rt_pipelines.lib.<concern>.step:<name>"
    request: Mapping[str, Any]  # JSON: pointers relative to the artifact root, settings as dumped
    uses_ray: bool = False  # the function needs a connected Ray (data-parallel training)


def resolve_function(name: str) -> Callable[..., dict]:
    """The step function `name` names ("module:function", under the library only).

    Raises:
        StepError: `name` is not a step function of this project.
    """
    module, _, attr = name.partition(":")
    if not module.startswith(PACKAGE_PREFIX) or not attr:
        raise StepError(f"{name!r} is not a step function of this project (expected '{PACKAGE_PREFIX}<concern>.step:<function>')")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise StepError(f"step function {name!r} cannot be loaded ({exc}); are both sides on the same version of tunix-rt-pipelines?") from None


def call_step(step: GpuStep, root: Path, progress: Callable[[str], None]) -> dict:
    """Run `step` here; returns its JSON result (a round trip through JSON, as a remote call would give)."""
    result = resolve_function(step.function)(json.loads(json.dumps(step.request)), Path(root), progress)
    return json.loads(json.dumps(result))


def result_path(root: Path, run_id: str, step_key: str) -> Path:
    return Path(root) / RESULTS_FOLDER / run_id / f"{step_key}.json"


def write_outcome(path: Path, result: dict | None = None, error: StepError | None = None) -> None:
    """Record a remote step's outcome atomically: its result, or the error a user can act on."""
    payload = {"result": result} if error is None else {"error": str(error), "retryable": error.retryable}
    atomic_write_text(path, json.dumps(payload, sort_keys=True))


def read_outcome(path: Path) -> dict:
    """The result a remote step recorded.

    Raises:
        StepError: It recorded an error, or recorded nothing (the process died first: retryable).
    """
    if not path.is_file():
        raise StepError(f"the step recorded no outcome in {path} (its process died before the end?)", retryable=True)
    payload = json.loads(path.read_text())
    if "error" in payload:
        raise StepError(payload["error"], retryable=bool(payload.get("retryable")))
    return payload["result"]
