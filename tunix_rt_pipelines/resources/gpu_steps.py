"""`gpu_steps`: where the steps of the `gpu` pool do their work (training, predictions).

- `GpuStepRunner`: the interface those assets use: run one `GpuStep` (lib/gpu_step.py), get its JSON result.
- `InProcessGpuSteps`: the default; the work runs in the step's own process, as it always did.
- `RayJobGpuSteps`: the work runs as a Ray job on a Ray cluster (where the GPUs are), through dagster-ray's
  Dagster Pipes client: its log lines come back into the step's log, Terminate in the UI stops the job,
  and the job is listed in Ray's dashboard with the run and step. The step's inputs travel as pointers
  under the artifact root, which the cluster mounts (shared storage); its result comes back in a file there.

`defs/resources.py` binds `RayJobGpuSteps` when `$TUNIX_RT_RAY_JOBS_ADDRESS` is set (docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import sys
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from tunix_rt_pipelines.lib.gpu_step import GpuStep, StepError, call_step, read_outcome, result_path

ADDRESS_ENV, RESOURCES_ENV = "TUNIX_RT_RAY_JOBS_ADDRESS", "TUNIX_RT_RAY_JOBS_RESOURCES"
NUM_CPUS_ENV, NUM_GPUS_ENV = "TUNIX_RT_RAY_JOBS_NUM_CPUS", "TUNIX_RT_RAY_JOBS_NUM_GPUS"
ARTIFACTS_ENV, PYTHON_ENV = "TUNIX_RT_RAY_JOBS_ARTIFACTS_DIR", "TUNIX_RT_RAY_JOBS_PYTHON"
ENTRYPOINT_MODULE = "tunix_rt_pipelines.remote.gpu_step"
# Forwarded to the job when set here: the Hugging Face cache a hub base model was resolved into (its
# snapshot travels as an absolute path) and whether the hub may be reached. The base model itself is
# chosen in the run's process (base_checkpoint) and reaches the job as a pointer.
DEFAULT_FORWARDED = ["HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"]

RaySession = Callable[[], AbstractContextManager]


def _failure(exc: StepError, where: str = "") -> dg.Failure:
    return dg.Failure(description=f"{str(exc).strip()}{where}", allow_retries=exc.retryable)


class GpuStepRunner(dg.ConfigurableResource, ABC):
    """Runs the work of a `gpu`-pool step somewhere with the accelerator and returns its result."""

    @abstractmethod
    def run(self, context: dg.AssetExecutionContext, step: GpuStep, root: Path, ray_session: RaySession) -> dict[str, Any]:
        """Run `step` against the artifact root `root` (this process's view of it).

        `ray_session` opens the run's own Ray, for a step that needs one (data-parallel training) when
        it runs in this process. Raises `dg.Failure` with the step's one-line error.
        """


class InProcessGpuSteps(GpuStepRunner):
    """The step's work runs right here, in the step's process (a laptop, or a run worker with a GPU)."""

    def run(self, context: dg.AssetExecutionContext, step: GpuStep, root: Path, ray_session: RaySession) -> dict[str, Any]:
        with ray_session() if step.uses_ray else contextlib.nullcontext():
            try:
                return call_step(step, root, context.log.info)
            except StepError as exc:
                raise _failure(exc) from None


class RayJobGpuSteps(GpuStepRunner):
    """The step's work runs as a Ray job on a Ray cluster, submitted to its dashboard's job server."""

    address: str = Field(description="The Ray dashboard's HTTP address, e.g. http://127.0.0.1:8265 (where `ray job submit` goes).")
    num_cpus: float = Field(default=1.0, ge=0, description="CPUs the job reserves for a step (its entrypoint).")
    num_gpus: float = Field(default=0.0, ge=0, description="GPUs the job reserves for a step: 1 on a GPU cluster, so each step gets a card.")
    resources: dict[str, float] = Field(default_factory=dict, description="Custom Ray resources the job reserves, e.g. {\"gpu_node\": 1} "
                                                                         "to place the steps on nodes started with that label.")
    artifacts_dir: str = Field(default="", description="The artifact root as the cluster's nodes mount it. Empty: the same path as here.")
    python: str = Field(default="", description="The interpreter on the cluster's nodes that has tunix-rt-pipelines installed. Empty: "
                                                "this process's own path, as dagster-ray's executor assumes (the same image or venv path).")
    forward_env: list[str] = Field(default_factory=lambda: list(DEFAULT_FORWARDED),
                                   description="Environment variables copied into the job when they are set here.")
    poll_seconds: float = Field(default=1.0, gt=0, description="How often the step asks Ray whether the job has finished.")

    def reservation(self, step: GpuStep) -> dict[str, Any]:
        """What the job's entrypoint reserves: nothing for data-parallel training, whose Ray Train workers
        reserve their own CPUs and GPUs (an entrypoint holding the card would leave none for them)."""
        if step.uses_ray:
            return {"entrypoint_num_cpus": 0}
        return {"entrypoint_num_cpus": self.num_cpus, "entrypoint_num_gpus": self.num_gpus,
                **({"entrypoint_resources": dict(self.resources)} if self.resources else {})}

    def run(self, context: dg.AssetExecutionContext, step: GpuStep, root: Path, ray_session: RaySession) -> dict[str, Any]:
        from dagster_ray.core.pipes import PipesRayJobClient

        run_id, step_key = context.run.run_id, context.op_execution_context.op.name
        outcome = result_path(root, run_id, step_key)
        outcome.unlink(missing_ok=True)  # a retry must not read the attempt before it
        remote_root = self.artifacts_dir or str(root)
        submit = {
            "entrypoint": f"{shlex.quote(self.python or sys.executable)} -m {ENTRYPOINT_MODULE}",
            "submission_id": f"tunix-rt-{run_id[:8]}-{step_key}-{context.retry_number}",
            # unbuffered: the step's Pipes messages (its log lines) reach the job log, hence the run's log, as they are written
            "runtime_env": {"env_vars": {"PYTHONUNBUFFERED": "1", **{k: os.environ[k] for k in self.forward_env if k in os.environ}}},
            "metadata": {"tunix-rt/step": step_key},  # beside the run id, job and code location dagster-ray adds
            **self.reservation(step),
        }
        extras = {"function": step.function, "request": json.loads(json.dumps(step.request)), "artifacts_root": remote_root,
                  "result": outcome.relative_to(root).as_posix(), "uses_ray": step.uses_ray}
        where = f" (Ray job {submit['submission_id']} on {self.address})"
        logging.getLogger("ray.dashboard.modules.job.sdk").setLevel(logging.WARNING)  # one INFO line per closed log stream
        try:
            with warnings.catch_warnings():  # dagster's Pipes session marks its own reader API "preview" on every use
                warnings.simplefilter("ignore", dg.PreviewWarning)
                PipesRayJobClient(address=self.address, poll_interval=self.poll_seconds).run(context=context, submit_job_params=submit,
                                                                                             extras=extras)
        except (RuntimeError, OSError) as exc:  # the job failed (its outcome says why), or the cluster cannot be reached
            if not outcome.is_file():
                raise dg.Failure(description=f"{step_key} failed on the Ray cluster{where}: {str(exc).strip().splitlines()[0]}") from None
        try:
            return read_outcome(outcome)
        except StepError as exc:
            raise _failure(exc, where) from None


def gpu_steps_from_environment(environ: dict[str, str] | None = None) -> GpuStepRunner:
    """`RayJobGpuSteps` on `$TUNIX_RT_RAY_JOBS_ADDRESS`'s cluster when it is set (with the other
    `TUNIX_RT_RAY_JOBS_*` settings), else `InProcessGpuSteps`.

    Raises:
        ValueError: A setting that does not parse, named with what it should be.
    """
    env = os.environ if environ is None else environ
    address = env.get(ADDRESS_ENV, "").strip()
    if not address:
        return InProcessGpuSteps()
    try:
        resources = json.loads(env.get(RESOURCES_ENV) or "{}")
        if not isinstance(resources, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise ValueError(f"${RESOURCES_ENV}: {exc}; expected a JSON object such as '{{\"gpu_node\": 1}}'") from None
    numbers = {}
    for field, name in (("num_cpus", NUM_CPUS_ENV), ("num_gpus", NUM_GPUS_ENV)):
        if env.get(name):
            try:
                numbers[field] = float(env[name])
            except ValueError:
                raise ValueError(f"${name}: {env[name]!r} is not a number") from None
    return RayJobGpuSteps(address=address, resources=resources, artifacts_dir=env.get(ARTIFACTS_ENV, ""),
                          python=env.get(PYTHON_ENV, ""), **numbers)
