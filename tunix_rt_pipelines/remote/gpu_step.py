"""`python -m tunix_rt_pipelines.remote.gpu_step`: the Ray job that does one GPU step's work (Dagster Pipes side).

`RayJobGpuSteps` (resources/gpu_steps.py) submits this module as a Ray job's entrypoint. The step's
function, request and artifact root arrive as Pipes extras; its log lines go back through Pipes;
its outcome (the JSON result, or the one-line error a user can act on) is written atomically to
the file the step named under the artifact root, which the Dagster side reads when the job ends.
Only `dagster_pipes` is imported here, never `dagster`: a job on a GPU node starts with the
library and torch alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_pipes import open_dagster_pipes

from tunix_rt_pipelines.lib.gpu_step import GpuStep, StepError, call_step, write_outcome


def main() -> int:
    with open_dagster_pipes() as pipes:
        root = Path(pipes.get_extra("artifacts_root"))
        outcome = root / pipes.get_extra("result")
        step = GpuStep(function=pipes.get_extra("function"), request=pipes.get_extra("request"), uses_ray=pipes.get_extra("uses_ray"))
        if step.uses_ray:  # data-parallel training: its workers go on this job's cluster (Ray sets RAY_ADDRESS for a job)
            from tunix_rt_pipelines.lib.ray_env import import_ray

            import_ray().init(log_to_driver=False)
        try:
            write_outcome(outcome, result=call_step(step, root, pipes.log.info))
        except StepError as exc:
            write_outcome(outcome, error=exc)
            pipes.log.error(str(exc))
            return 1
        except Exception as exc:  # a crash: one line for the Dagster side, the traceback stays in the Ray job's log
            write_outcome(outcome, error=StepError(f"{type(exc).__name__}: {exc}", retryable=True))
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
