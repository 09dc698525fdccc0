"""`SweepConfig`: what a hyperparameter sweep searches, how it ranks trials and how it runs.

Validated when it is built: the search space against the training fields
(`search_space.parse_search_space`), and the metric and mode against the locked evaluation
spec. The metric and mode are `Literal`s, so Dagster's own run-config validation refuses any
other value at launch, before a run exists.
"""

import re
from typing import Any, Literal

import dagster as dg
from pydantic import Field, field_validator, model_validator

from tunix_rt_pipelines.defs.inference.config import InferenceConfig
from tunix_rt_pipelines.defs.training.config import TrainingConfig
from tunix_rt_pipelines.lib.evaluation.spec import METRIC_NAME, SPEC, metric_id
from tunix_rt_pipelines.lib.sweep.sampling import num_samples_problem
from tunix_rt_pipelines.lib.sweep.search_space import parse_search_space
from tunix_rt_pipelines.lib.training.settings import MAX_SEED, TrainSettings

MODE = "max" if SPEC["scale"]["higher_is_better"] else "min"
SWEEP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Settings that change how a sweep runs but not what it computes: they stay out of the sweep id,
# so a sweep interrupted with 1 concurrent trial resumes with 2 (Ray keeps the stored settings).
OPERATIONAL_FIELDS = frozenset({"max_concurrent_trials", "max_failures", "reuse_workers", "ray_address", "sweep_id",
                                "retry_failed_trials", "force"})


def default_search_space() -> dict[str, Any]:
    return {
        "learning_rate": {"type": "loguniform", "min": 1e-3, "max": 1e-2},
        "batch_size": {"type": "choice", "values": [16, 32]},
    }


class SweepConfig(dg.Config):
    # --- what to search
    search_space: dict[str, Any] = Field(
        default_factory=default_search_space,
        description="Training hyperparameters to search, {name: {type: choice|uniform|loguniform|randint|quniform, ...}}. "
                    "choice {values}; uniform {min < max}; loguniform {0 < min < max}; randint {min < max, max inclusive}; "
                    "quniform {min < max, q; min and max multiples of q}. See docs/tuning.md.")
    num_samples: int = Field(default=4, ge=1, le=1000, description="Trials to run, every one a different configuration: a space of choice, "
                             "randint and quniform dimensions runs as a grid (at most its size; equal to it = the whole grid), "
                             "otherwise seeded random draws with repeats redrawn. 1..1000.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Seed of the trial plan: the same seed and space run the same trials; 0..2**32-1.")
    metric: Literal[METRIC_NAME] = Field(  # type: ignore[valid-type]
        default=METRIC_NAME, description=f"The metric trials are ranked by: only the locked primary metric, {METRIC_NAME}.")
    mode: Literal[MODE] = Field(  # type: ignore[valid-type]
        default=MODE, description=f"Direction of the metric, fixed by the evaluation spec ({MODE}).")
    # --- what every trial runs
    training: TrainingConfig = Field(
        default_factory=TrainingConfig,
        description="Training settings every trial starts from; the search space overrides the keys it names. "
                    "device and num_threads are set from the per-trial resources. num_workers > 1 makes every trial a "
                    "Ray Train run of that many workers (cpus_per_worker/gpus_per_worker each), launched by the trial; "
                    "max_concurrent_trials is then capped so all trials' drivers and workers fit the cluster at once.")
    inference: InferenceConfig = Field(
        default_factory=InferenceConfig,
        description="Generation settings used to score each trial on golden-v1 (same as the main graph's by default).")
    # --- how it runs
    max_concurrent_trials: int = Field(default=1, ge=1, le=256, description="Trials running at once (Ray also caps this by free CPUs/GPUs; "
                                       "with training.num_workers > 1, by whole trials, driver plus workers, that fit the cluster).")
    max_failures: int = Field(default=0, ge=0, le=1000, description="Trials allowed to fail; with more failures the sweep fails (after recording them all).")
    cpus_per_trial: float = Field(default=1.0, gt=0, le=1024, allow_inf_nan=False, description="CPUs Ray reserves per trial; also the trial's torch thread count (rounded up). "
                                  "With training.num_workers > 1: the trial driver's, which predicts and evaluates; its workers reserve their own.")
    gpus_per_trial: float = Field(default=0.0, ge=0, le=64, allow_inf_nan=False, description="GPUs Ray reserves per trial: 0 = CPU only, 1 = a card each; "
                                                                  "fractions share a card on purpose.")
    reuse_workers: bool = Field(default=True, description="Run trials one after another in the same Ray worker process: saves "
                                                           "re-importing torch per trial (~10 s on 2 cores); trials share no state.")
    ray_address: str = Field(default="", description="'' = the `ray` resource's setting (a local Ray started for the run by default); "
                                                     "'auto' or 'host:port' = connect to that running Ray cluster.")
    sweep_id: str = Field(default="", description="Folder name under <artifacts>/tuning/. Empty: derived from the inputs and this "
                                                  "config, so rerunning the same sweep resumes it instead of starting over.")
    retry_failed_trials: bool = Field(default=False, description="When resuming, run failed trials again instead of keeping their failure.")
    force: bool = Field(default=False, description="Run even if the evaluation_lock check did not pass in this run; recorded in the results.")

    @field_validator("metric", mode="before")
    @classmethod
    def _locked_metric(cls, value: Any) -> Any:
        if value != METRIC_NAME:
            raise ValueError(f"metric {value!r} is refused: sweeps rank trials by the locked primary metric {metric_id()} "
                             "(see docs/evaluation.md); other metrics are reported, never used to pick the best trial")
        return value

    @field_validator("mode", mode="before")
    @classmethod
    def _spec_mode(cls, value: Any) -> Any:
        if value != MODE:
            raise ValueError(f"mode {value!r} is refused: {METRIC_NAME} is {'higher' if MODE == 'max' else 'lower'}-is-better, so mode is {MODE!r}")
        return value

    @field_validator("search_space")
    @classmethod
    def _valid_space(cls, value: dict[str, Any]) -> dict[str, Any]:
        space = parse_search_space(value, TrainSettings.model_fields)
        return {key: dim.model_dump() for key, dim in space.items()}

    @model_validator(mode="after")
    def _batches_split_across_workers(self) -> "SweepConfig":
        # A multi-worker trial splits batch_size evenly over its Ray Train workers (TrainSettings refuses
        # the rest): refuse a space that could sample a batch_size they cannot split, before any trial runs.
        n, dim = self.training.num_workers, self.dimensions().get("batch_size")
        if n < 2 or dim is None:
            return self
        if dim.type != "choice":
            raise ValueError(f"search_space.batch_size: with training.num_workers={n} give a choice of multiples of {n} "
                             f"(a {dim.type} range can sample a batch_size that {n} workers cannot split)")
        bad = [v for v in dim.values if int(v) % n]
        if bad:
            raise ValueError(f"search_space.batch_size: {bad} cannot be split across training.num_workers={n}: "
                             f"use multiples of {n} (each worker takes batch_size / {n} rows)")
        return self

    @field_validator("sweep_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if value and not re.fullmatch(SWEEP_ID_PATTERN, value):
            raise ValueError(f"sweep_id {value!r} must match {SWEEP_ID_PATTERN} (it names a folder)")
        return value

    @model_validator(mode="after")
    def _no_repeated_trial(self) -> "SweepConfig":
        problem = num_samples_problem(self.dimensions(), self.num_samples)
        if problem:
            raise ValueError(problem)
        return self

    def dimensions(self) -> dict[str, Any]:
        """The parsed search space (`search_space.Dimension`s)."""
        return parse_search_space(self.search_space, TrainSettings.model_fields)

    def identity(self) -> dict[str, Any]:
        """The settings that decide what the sweep computes (the sweep id hashes these)."""
        # the training block by its own identity: a one-worker sweep keeps the id it had before num_workers existed
        return {k: (self.training.identity() if k == "training" else v) for k, v in self.model_dump().items() if k not in OPERATIONAL_FIELDS}
