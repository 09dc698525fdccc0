"""`tunix-rt serve` and the LLM judge's endpoint backend, against the real server on 127.0.0.1.

Contract: a registered tiny model (the champion) is served by `transformers serve` in a process
started here; `/v1/models` lists it; `/v1/chat/completions` answers with what the project's own
greedy decoder makes from the plain training prompt (the chat template renders that format);
without the right API key the server answers 401 and the endpoint judge fails in one line; a
too-short timeout fails in one line; the endpoint judge judges calibration rows through HTTP.
The plain-format template renders exactly the training prompt's tokens.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tunix_rt_pipelines.lib.datasets.reader import read_dataset
from tunix_rt_pipelines.lib.evaluation.calibration import calibrate, gate
from tunix_rt_pipelines.lib.evaluation.calibration_set import CALIBRATION_KEY
from tunix_rt_pipelines.lib.evaluation.llm_judge import JudgeBackendError, JudgeRequest, LlmJudge
from tunix_rt_pipelines.lib.inference.judge_backends import OpenAIJudgeBackend
from tunix_rt_pipelines.lib.registry.promote import promote
from tunix_rt_pipelines.lib.registry.registry import open_registry
from tunix_rt_pipelines.lib.serving.openai_server import prepare_folder
from tunix_rt_pipelines_tests.registry.factories import DATASETS, NAME, make_candidate
from tunix_rt_pipelines_tests.testing_utils import REAL_DATASETS, free_port

KEY = "test-key-not-a-secret"
SERVED = f"{NAME}-v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path):
    """`tunix-rt serve` of the champion (a loadable tiny model) in its own process, stopped afterwards."""
    tmp = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{tmp / 'registry.db'}"
    registry = open_registry(url, tmp / "store", DATASETS)
    candidate = make_candidate(tmp, seed=1, correct=70, template=tiny_model_dir)
    promote(registry, candidate)
    checkpoint = registry.artifact_path(registry.get(NAME, "champion"))
    registry.close()
    port = free_port()
    env = {**os.environ, "TUNIX_RT_REGISTRY_URL": url, "TUNIX_RT_REGISTRY_STORE": str(tmp / "store"), "TUNIX_RT_HOME": str(tmp / "home"),
           "HF_HUB_OFFLINE": "1", "TUNIX_RT_SERVE_API_KEY": KEY}
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("tunix-rt")), "serve", NAME, "--port", str(port), "--device", "cpu"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/health", headers={"Authorization": f"Bearer {KEY}"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"tunix-rt serve did not come up:\n{(tmp / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"base": base, "checkpoint": checkpoint}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _backend(server: dict, **kwargs) -> OpenAIJudgeBackend:
    return OpenAIJudgeBackend(f"{server['base']}/v1", SERVED, max_retries=0, **kwargs)


def test_models_lists_the_served_version(server: dict):
    reply = httpx.get(f"{server['base']}/v1/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert reply.status_code == 200 and [m["id"] for m in reply.json()["data"]] == [SERVED]
    assert httpx.get(f"{server['base']}/v1/models", timeout=10).status_code == 401  # no key, no answer


def test_chat_completion_is_the_projects_own_greedy_decoding_of_the_training_prompt(server: dict):
    import openai

    from tunix_rt_pipelines.lib.inference.generate import reference_generate
    from tunix_rt_pipelines.lib.models.loading import load_model
    from tunix_rt_pipelines.lib.models.prompt import format_prompt

    question = "What is 64 + 9?"
    client = openai.OpenAI(base_url=f"{server['base']}/v1", api_key=KEY, max_retries=0)
    reply = client.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": question}], max_tokens=12, temperature=0.0)
    model, tokenizer = load_model(server["checkpoint"], device="cpu", dtype="float32")
    expected = reference_generate(model, tokenizer, [format_prompt(question)], max_new_tokens=12).completions[0]
    assert reply.choices[0].message.content == expected


def test_the_endpoint_judge_judges_through_http_and_is_refused(server: dict, monkeypatch):
    monkeypatch.setenv("TUNIX_RT_JUDGE_API_KEY", KEY)
    rows = read_dataset(REAL_DATASETS / CALIBRATION_KEY).rows[:8]
    judge = LlmJudge(_backend(server, max_new_tokens=8, concurrency=2))
    verdicts = judge.judge(rows, {r.id: r.candidate for r in rows})
    result = calibrate("llm_judge@v1", judge.spec_sha256(), rows, verdicts)

    assert all(isinstance(v.raw, str) for v in verdicts) and len(verdicts) == 8
    assert not gate(result).passed


@pytest.mark.parametrize(("key", "timeout", "message"), [
    ("wrong-key", 30.0, "refused the API key"),
    (KEY, 0.001, "did not answer within"),
])
def test_a_wrong_key_or_a_timeout_is_one_line(server: dict, monkeypatch, key: str, timeout: float, message: str):
    monkeypatch.setenv("TUNIX_RT_JUDGE_API_KEY", key)
    with pytest.raises(JudgeBackendError, match=message) as info:
        _backend(server, timeout=timeout).complete([JudgeRequest("a", "q", "1", "Answer: 1")])
    assert "\n" not in str(info.value) and key not in str(info.value)


def test_the_plain_chat_template_renders_the_training_prompt(tmp_path: Path, tiny_model_dir: Path):
    from transformers import AutoTokenizer

    from tunix_rt_pipelines.lib.models.prompt import format_prompt

    served = AutoTokenizer.from_pretrained(prepare_folder(tiny_model_dir, tmp_path, "tiny-v1"))
    question = "Reverse the letters of 'plane'."
    rendered = served.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True, tokenize=True, return_dict=True)
    assert list(rendered["input_ids"]) == AutoTokenizer.from_pretrained(tiny_model_dir)(format_prompt(question))["input_ids"]
    assert (tiny_model_dir / "tokenizer_config.json").read_text() != (tmp_path / "tiny-v1" / "tokenizer_config.json").read_text()
