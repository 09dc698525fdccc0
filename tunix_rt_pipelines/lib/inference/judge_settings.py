"""`JudgeSettings`: which LLM judge runs and how, and `build_judge` to make it.

One setting picks the backend: `local` (a causal LM: builtin:tiny, a save_pretrained folder or a
hub id, run with the project's batched greedy decoding), `openai` (an OpenAI-compatible
endpoint, e.g. `tunix-rt serve`) or `rule` (the deterministic `ContainsAnswerBackend`, the
reference judge that passes calibration). The Dagster resource (`resources/llm_judge.py`) is
this model with Dagster's config machinery on top.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tunix_rt_pipelines.lib.evaluation.calibration import DEFAULT_MIN_TNR, DEFAULT_MIN_TPR
from tunix_rt_pipelines.lib.evaluation.llm_judge import ContainsAnswerBackend, LlmJudge

API_KEY_ENV = "TUNIX_RT_JUDGE_API_KEY"


class JudgeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- which judge model
    backend: Literal["local", "openai", "rule"] = Field(default="local", description="local: a causal LM run here; openai: an "
                                                        "OpenAI-compatible endpoint; rule: the deterministic contains-the-answer judge.")
    model: str = Field(default="builtin:tiny", description="local: builtin:tiny, a save_pretrained folder or a hub id; "
                                                           "openai: the model name the endpoint serves.")
    max_new_tokens: int = Field(default=48, ge=1, description="Tokens of the judge's reply at most (greedy).")
    seed: int = Field(default=0, description="Seed for decoding (and the endpoint's `seed`).")
    # --- local backend
    batch_size: int = Field(default=32, ge=1, description="local: prompts decoded together.")
    device: str = Field(default="auto", description="local: auto, cpu, cuda or cuda:N.")
    # --- openai backend
    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="openai: the endpoint's base URL, ending in /v1.")
    api_key_env: str = Field(default=API_KEY_ENV, description="openai: the environment variable holding the API key (never logged).")
    timeout_s: float = Field(default=30.0, gt=0, description="openai: seconds per request attempt.")
    max_retries: int = Field(default=2, ge=0, description="openai: retries with exponential backoff (connection errors, 429, 5xx).")
    concurrency: int = Field(default=4, ge=1, description="openai: requests in flight at most.")
    # --- the calibration gate
    min_tpr: float = Field(default=DEFAULT_MIN_TPR, ge=0, le=1, description="The judge may score only with TPR at least this.")
    min_tnr: float = Field(default=DEFAULT_MIN_TNR, ge=0, le=1, description="The judge may score only with TNR at least this.")
    calibration_max_items: int = Field(default=0, ge=0, description="Only the first N calibration rows (0 = all); for smoke runs. "
                                                                    "Fewer rows give wider intervals.")


def build_judge(settings: JudgeSettings, models_dir: Path) -> LlmJudge:
    """The llm_judge@v1 the settings describe (a local model is resolved, and a built-in one created, here).

    Raises:
        ModelLoadError: A local model that does not exist or cannot be used safely.
    """
    from tunix_rt_pipelines.lib.inference.judge_backends import LocalJudgeBackend, OpenAIJudgeBackend
    from tunix_rt_pipelines.lib.models.loading import folder_sha256
    from tunix_rt_pipelines.lib.models.source import resolve_model_folder

    if settings.backend == "rule":
        backend = ContainsAnswerBackend()
    elif settings.backend == "openai":
        backend = OpenAIJudgeBackend(settings.base_url, settings.model, api_key_env=settings.api_key_env, timeout=settings.timeout_s,
                                     max_retries=settings.max_retries, concurrency=settings.concurrency,
                                     max_new_tokens=settings.max_new_tokens, seed=settings.seed)
    else:
        folder = resolve_model_folder(settings.model, models_dir)
        backend = LocalJudgeBackend(settings.model, folder, folder_sha256(folder), max_new_tokens=settings.max_new_tokens,
                                    batch_size=settings.batch_size, seed=settings.seed, device=settings.device)
    return LlmJudge(backend)
