"""The LLM judge's two model backends: a local causal LM, and an OpenAI-compatible HTTP endpoint.

Both answer `JudgeRequest.prompt` (the locked rubric) greedily and return the raw replies; the
judge (`lib/evaluation/llm_judge.py`) parses them. Any failure raises `JudgeBackendError` with one
actionable line, and no partial list of replies is ever returned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tunix_rt_pipelines.lib.evaluation.llm_judge import JudgeBackendError, JudgeRequest
from tunix_rt_pipelines.lib.models.builtin import is_builtin


class LocalJudgeBackend:
    """A causal LM folder run with the project's own batched greedy decoding (`generate_batched`).

    The rubric is the user turn: rendered with the tokenizer's chat template when it has one,
    else as the plain `Question: ...` prompt, exactly as the model's own predictions are.
    """

    def __init__(self, name: str, folder: Path, model_sha256: str, *, max_new_tokens: int = 48, batch_size: int = 32,
                 seed: int = 0, device: str = "auto", dtype: str = "auto") -> None:
        self.name, self.folder, self.model_sha256 = name, folder, model_sha256
        self.max_new_tokens, self.batch_size, self.seed, self.device, self.dtype = max_new_tokens, batch_size, seed, device, dtype

    def identity(self) -> dict[str, Any]:
        # A built-in model is defined by its name and seed (its code is versioned with the project);
        # any other model by the hash of its files, so retraining it is a new judge model.
        return {"backend": "local", "model": self.name, **({} if is_builtin(self.name) else {"model_sha256": self.model_sha256})}

    def generation(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "seed": self.seed}

    def complete(self, requests: Sequence[JudgeRequest]) -> list[str]:
        from tunix_rt_pipelines.lib.inference.generate import generate_batched
        from tunix_rt_pipelines.lib.models.loading import load_model, resolve_device
        from tunix_rt_pipelines.lib.models.prompt import resolve_format

        if not requests:
            return []
        model, tokenizer = load_model(self.folder, device=resolve_device(self.device), dtype=self.dtype)
        fmt = resolve_format(tokenizer)
        result = generate_batched(model, tokenizer, [fmt.prompt(tokenizer, r.prompt) for r in requests], max_new_tokens=self.max_new_tokens,
                                  batch_size=self.batch_size, seed=self.seed, add_special_tokens=fmt.add_special_tokens)
        return result.completions


class OpenAIJudgeBackend:
    """An OpenAI-compatible `/v1/chat/completions` endpoint, through the official `openai` client.

    The API key is read from the environment variable `api_key_env` when a request is made; it
    is never part of the identity, a message or a log line. The client retries connection
    errors, 408/409/429 and 5xx up to `max_retries` times with exponential backoff; `timeout`
    bounds each attempt; at most `concurrency` requests are in flight.
    """

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "TUNIX_RT_JUDGE_API_KEY", timeout: float = 30.0,
                 max_retries: int = 2, concurrency: int = 4, max_new_tokens: int = 48, seed: int = 0) -> None:
        self.base_url, self.model, self.api_key_env = base_url.rstrip("/"), model, api_key_env
        self.timeout, self.max_retries, self.concurrency, self.max_new_tokens, self.seed = timeout, max_retries, concurrency, max_new_tokens, seed

    def identity(self) -> dict[str, Any]:
        # The served model's name identifies the judge; where it is served from (the URL) does not.
        return {"backend": "openai", "model": self.model}

    def generation(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "seed": self.seed, "temperature": 0.0}

    def _client(self):
        import openai

        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise JudgeBackendError(f"${self.api_key_env} is not set; export the endpoint's API key in it (any non-empty value for a local server)")
        return openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=self.max_retries)

    def complete(self, requests: Sequence[JudgeRequest]) -> list[str]:
        import openai

        client = self._client()

        def ask(request: JudgeRequest) -> str:
            reply = client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": request.prompt}],
                                                   temperature=0.0, max_tokens=self.max_new_tokens, seed=self.seed)
            return reply.choices[0].message.content or ""

        where = f"judge endpoint {self.base_url} (model {self.model})"
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                return list(pool.map(ask, requests))
        except openai.AuthenticationError:
            raise JudgeBackendError(f"{where} refused the API key in ${self.api_key_env} (401); set the right key") from None
        except openai.APITimeoutError:
            raise JudgeBackendError(f"{where} did not answer within {self.timeout:g}s ({self.max_retries} retries); "
                                    "raise the timeout or check the server") from None
        except openai.APIConnectionError:
            raise JudgeBackendError(f"{where} is unreachable; start the server (tunix-rt serve) or fix the base URL") from None
        except openai.APIStatusError as exc:
            raise JudgeBackendError(f"{where} answered HTTP {exc.status_code}; check the model name and the server's log") from None
