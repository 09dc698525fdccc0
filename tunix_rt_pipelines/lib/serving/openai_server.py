"""Serving a checkpoint over an OpenAI-compatible API with `transformers serve`.

The server is Hugging Face's own (`transformers serve`: FastAPI + uvicorn, `/v1/models`,
`/v1/completions`, `/v1/chat/completions`), not a web layer of this project. Three things are
added around it, because `transformers serve` (5.x) lacks them:

1. **The training format for chat.** `/v1/chat/completions` renders messages with the
   tokenizer's chat template. A model trained on the plain format (builtin:tiny: `Question:
   <q>\\n`, no template) is served from a copy of its folder whose tokenizer carries a template
   that renders the last user message in exactly that format (`PLAIN_CHAT_TEMPLATE`), so a chat
   request reaches the model as the prompts it was trained and evaluated on. A model with its own
   template is served as it is.
2. **An API key.** When the environment variable named by `api_key_env` is set, every request must
   carry `Authorization: Bearer <key>` (compared in constant time); others get 401. The key is
   never printed.
3. **`/v1/models` lists the served model.** transformers serve lists the Hugging Face cache there
   (and answers 500 when there is none), not the model it is pinned to.

Served under the name `served_name` (a folder under the serving root; the OpenAI `model` field).
"""

from __future__ import annotations

import hmac
import json
import os
import shutil
import time
from pathlib import Path

from tunix_rt_pipelines.lib.files import staged_dir

# The plain training format (models.prompt.format_prompt) as a chat template: BOS, then
# "Question: <last user message>\n". The newline is an expression: Jinja drops a template's final newline.
PLAIN_CHAT_TEMPLATE = "{{ bos_token }}Question: {{ messages[-1]['content'] }}{{ '\\n' }}"
SERVE_API_KEY_ENV = "TUNIX_RT_SERVE_API_KEY"


class ServeError(Exception):
    """The server cannot start (one actionable line)."""


def prepare_folder(checkpoint: Path, root: Path, served_name: str) -> Path:
    """`root/served_name`: the checkpoint's files, with the plain-format chat template when it has none.

    Files are hard-linked where the file system allows (a copy otherwise): the checkpoint is never modified.
    """
    from tunix_rt_pipelines.lib.models.loading import checkpoint_files

    folder = root / served_name
    with staged_dir(folder) as tmp:
        for path in checkpoint_files(checkpoint):
            target = tmp / path.relative_to(checkpoint)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
        config_path = tmp / "tokenizer_config.json"
        config = json.loads(config_path.read_text()) if config_path.exists() else {}
        if not config.get("chat_template") and not (tmp / "chat_template.jinja").exists():
            config_path.unlink(missing_ok=True)  # a hard link: write a new file, never through the link
            config_path.write_text(json.dumps({**config, "chat_template": PLAIN_CHAT_TEMPLATE}, indent=2) + "\n")
    return folder


def _wrapped(build_server, served_name: str, key: str):
    """Wrap transformers' `build_server`: `/v1/models` lists `served_name`; with a key, every request must carry it."""
    def build(model_manager, *args, **kwargs):
        from fastapi.responses import JSONResponse

        created = int(time.time())
        # A staticmethod on the class; the instance attribute takes precedence for this server only.
        model_manager.get_gen_models = lambda *a, **k: [{"id": served_name, "object": "model", "created": created, "owned_by": "tunix-rt"}]
        app = build_server(model_manager, *args, **kwargs)
        if key:
            @app.middleware("http")
            async def require_key(request, call_next):
                given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                if not hmac.compare_digest(given.encode(), key.encode()):
                    return JSONResponse({"error": {"message": "invalid API key", "type": "invalid_request_error",
                                                   "code": "invalid_api_key"}}, status_code=401)
                return await call_next(request)

        return app

    return build


def serve(root: Path, served_name: str, *, host: str = "127.0.0.1", port: int = 8000, device: str = "auto",
          api_key_env: str = SERVE_API_KEY_ENV) -> None:
    """Run `transformers serve` on `root/served_name` until interrupted (blocks).

    Raises:
        ServeError: The serving extras are missing.
    """
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        raise ServeError("transformers serve needs its extras: uv sync (they are in transformers[serving])")
    import transformers.cli.serving.server as server_module
    from transformers.cli.serve import Serve

    server_module.build_server = _wrapped(server_module.build_server, served_name, os.environ.get(api_key_env, ""))
    os.chdir(root)  # the model id is the folder name relative to here, so clients ask for `served_name`
    Serve(force_model=served_name, host=host, port=port, device=device, dtype="auto", log_level="warning")
