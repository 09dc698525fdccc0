"""The LLM judge's local backend on a real tiny model, and the calibration gate refusing it.

Contract: builtin:tiny (random, ~1M parameters, made here) answers the rubric through the
project's batched decoder; its replies are recorded raw; it does not follow the rubric, so the
calibration gate refuses it with TPR/TNR far below 0.9 in its message. The endpoint backend
without its API key fails in one line naming the variable, before any request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.evaluation.calibration import calibrate, gate
from tunix_rt_pipelines.lib.evaluation.calibration_set import CALIBRATION_KEY
from tunix_rt_pipelines.lib.evaluation.llm_judge import JudgeBackendError, JudgeRequest, LlmJudge
from tunix_rt_pipelines.lib.inference.judge_backends import LocalJudgeBackend, OpenAIJudgeBackend
from tunix_rt_pipelines.lib.models.loading import folder_sha256
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS


def test_tiny_local_judge_is_refused_by_calibration(tiny_model_dir: Path):
    # Balanced subset: the first 10 golden items' 4 candidates each (2 correct, 2 incorrect).
    rows = read_dataset(REAL_DATASETS / CALIBRATION_KEY).rows[:40]
    judge = LlmJudge(LocalJudgeBackend("builtin:tiny", tiny_model_dir, folder_sha256(tiny_model_dir), max_new_tokens=16, batch_size=40))
    verdicts = judge.judge(rows, {r.id: r.candidate for r in rows})
    result = calibrate("llm_judge@v1", judge.spec_sha256(), rows, verdicts)
    decision = gate(result)

    assert all(isinstance(v.raw, str) for v in verdicts)  # every reply kept as the model wrote it
    assert result.tpr < 0.9 and result.tnr < 0.9 and not decision.passed
    assert f"TPR {result.tpr:.3f} < 0.9" in decision.message and f"TNR {result.tnr:.3f} < 0.9" in decision.message


def test_endpoint_backend_without_its_key_fails_in_one_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TUNIX_RT_TEST_NO_KEY", raising=False)
    backend = OpenAIJudgeBackend("http://127.0.0.1:9/v1", "m", api_key_env="TUNIX_RT_TEST_NO_KEY")
    with pytest.raises(JudgeBackendError, match=r"^\$TUNIX_RT_TEST_NO_KEY is not set") as info:
        backend.complete([JudgeRequest("a", "q", "1", "Answer: 1")])
    assert "\n" not in str(info.value)
