"""`LlmJudgeResource`: the LLM judge a run uses, configured once for every step that needs it.

A resource rather than per-asset run config because three steps (the spec and its lock, the
calibration and its gate, the judgements) must use the very same judge in one run.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from tunix_rt_pipelines.lib.evaluation.llm_judge import LlmJudge
from tunix_rt_pipelines.lib.inference.judge_settings import JudgeSettings, build_judge


class LlmJudgeResource(dg.ConfigurableResource, JudgeSettings):
    """llm_judge@v1's backend, judge model and calibration thresholds (see `JudgeSettings`)."""

    lock_file: str = Field(default="", description="The lock the judge is checked against. Empty: the shipped "
                                                   "lib/evaluation/llm_judge.lock.json (pinned for builtin:tiny, local).")

    def lock_path(self) -> Path:
        from tunix_rt_pipelines.lib.evaluation.lock import lock_file

        return Path(self.lock_file) if self.lock_file else lock_file("llm_judge")

    def settings(self) -> JudgeSettings:
        return JudgeSettings(**{name: getattr(self, name) for name in JudgeSettings.model_fields})

    def judge(self, models_dir: Path) -> LlmJudge:
        return build_judge(self.settings(), models_dir)
