"""Where the gpu pool's work runs (resources/gpu_steps.py): in the step's process unless
$TUNIX_RT_RAY_JOBS_ADDRESS names a Ray cluster; bad settings are refused by name; a Ray job reserves
the configured CPUs/GPUs/labels, except a data-parallel training's entrypoint (its workers reserve
their own); a step's error reaches Dagster as one line, retryable only when a rerun may get past it;
an unreachable cluster fails the step with one line, not a traceback."""

import contextlib

import dagster as dg
import pytest

from tunix_rt_pipelines.lib.gpu_step import GpuStep
from tunix_rt_pipelines.resources.gpu_steps import InProcessGpuSteps, RayJobGpuSteps, gpu_steps_from_environment
from tunix_rt_pipelines_tests.testing_utils import free_port

BAD_STEP = GpuStep(function="tunix_rt_pipelines.lib.training.step:no_such_step", request={})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, InProcessGpuSteps()),  # the default: nothing set, nothing changes
        ({"TUNIX_RT_RAY_JOBS_ADDRESS": "  "}, InProcessGpuSteps()),  # blank is unset
        ({"TUNIX_RT_RAY_JOBS_ADDRESS": "http://10.0.0.5:8265"}, RayJobGpuSteps(address="http://10.0.0.5:8265")),
        # a GPU cluster: one card per step, on nodes labelled gpu_node, the artifact root mounted elsewhere there
        ({"TUNIX_RT_RAY_JOBS_ADDRESS": "http://head:8265", "TUNIX_RT_RAY_JOBS_NUM_GPUS": "1", "TUNIX_RT_RAY_JOBS_NUM_CPUS": "4",
          "TUNIX_RT_RAY_JOBS_RESOURCES": '{"gpu_node": 1}', "TUNIX_RT_RAY_JOBS_ARTIFACTS_DIR": "/mnt/artifacts",
          "TUNIX_RT_RAY_JOBS_PYTHON": "/opt/venv/bin/python"},
         RayJobGpuSteps(address="http://head:8265", num_gpus=1, num_cpus=4, resources={"gpu_node": 1}, artifacts_dir="/mnt/artifacts",
                        python="/opt/venv/bin/python")),
    ],
)
def test_the_environment_picks_where_the_gpu_steps_run(environ, expected):
    assert gpu_steps_from_environment(environ) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TUNIX_RT_RAY_JOBS_RESOURCES": "gpu_node=1"}, "TUNIX_RT_RAY_JOBS_RESOURCES"),  # not JSON
        ({"TUNIX_RT_RAY_JOBS_RESOURCES": "[1]"}, "JSON object"),  # JSON, not an object
        ({"TUNIX_RT_RAY_JOBS_NUM_GPUS": "one"}, "TUNIX_RT_RAY_JOBS_NUM_GPUS: 'one' is not a number"),
    ],
)
def test_bad_ray_job_settings_are_refused_by_name(environ, message):
    with pytest.raises(ValueError, match=message):
        gpu_steps_from_environment({"TUNIX_RT_RAY_JOBS_ADDRESS": "http://head:8265", **environ})


def test_a_ray_job_reserves_the_step_s_resources_but_a_data_parallel_entrypoint_none():
    runner = RayJobGpuSteps(address="http://head:8265", num_cpus=2, num_gpus=1, resources={"gpu_node": 1})
    assert runner.reservation(GpuStep(function="f", request={})) == {
        "entrypoint_num_cpus": 2, "entrypoint_num_gpus": 1, "entrypoint_resources": {"gpu_node": 1}}
    # Ray Train's workers reserve their own CPUs/GPUs; an entrypoint holding the card would starve them
    assert runner.reservation(GpuStep(function="f", request={}, uses_ray=True)) == {"entrypoint_num_cpus": 0}


def _failure_of(runner, step: GpuStep, entered: list) -> dg.Failure | None:
    @contextlib.contextmanager
    def ray_session():
        entered.append(True)
        yield {}

    failures = []

    @dg.asset
    def gpu_step(context: dg.AssetExecutionContext, gpu_steps: dg.ConfigurableResource):
        try:
            gpu_steps.run(context, step, context.instance.storage_directory(), ray_session)
        except dg.Failure as exc:
            failures.append(exc)
            raise

    dg.materialize([gpu_step], resources={"gpu_steps": runner}, raise_on_error=False)
    return failures[0] if failures else None


@pytest.mark.parametrize("uses_ray", [False, True])
def test_in_process_a_step_s_error_is_one_line_and_not_retried_and_ray_is_opened_only_when_needed(uses_ray):
    entered = []
    failure = _failure_of(InProcessGpuSteps(), GpuStep(function=BAD_STEP.function, request={}, uses_ray=uses_ray), entered)
    assert failure is not None and "no_such_step" in failure.description and "\n" not in failure.description
    assert failure.allow_retries is False
    assert entered == ([True] if uses_ray else [])


def test_an_unreachable_ray_cluster_fails_the_step_in_one_line():
    address = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    failure = _failure_of(RayJobGpuSteps(address=address), BAD_STEP, [])
    assert failure is not None and "failed on the Ray cluster" in failure.description and address in failure.description
    assert "\n" not in failure.description
