"""`tunix-rt serve [MODEL] [VERSION|ALIAS]`: a registry version over an OpenAI-compatible API.

Default: the champion of the only registered model, on 127.0.0.1:8000. The checkpoint is
checked against its registered sha256 before it is served, and served by `transformers serve`
(see lib/serving/openai_server.py) under the name `<MODEL>-v<VERSION>`.
"""

from __future__ import annotations

import argparse
import os
import sys

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.cli.registry import _open


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="Serve a registry version (default: the champion) over an OpenAI-compatible API.",
                       description="Endpoints: /v1/models, /v1/completions, /v1/chat/completions (transformers serve). Chat requests "
                                   "are rendered in the format the model was trained with. Set $TUNIX_RT_SERVE_API_KEY to require "
                                   "`Authorization: Bearer <key>`.")
    p.add_argument("model", nargs="?", default=None, help="registry name (default: the only one registered)")
    p.add_argument("ref", nargs="?", default="champion", metavar="VERSION|ALIAS", help="a version (3 or v3), an alias or latest (default champion)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    from tunix_rt_pipelines.lib.models.loading import folder_sha256
    from tunix_rt_pipelines.lib.serving.openai_server import SERVE_API_KEY_ENV, prepare_folder
    from tunix_rt_pipelines.lib.serving.openai_server import serve as run_server

    registry = _open()
    name = args.model
    if name is None:
        names = registry.names()
        if len(names) != 1:
            print(f"error: name the model to serve; registered: {', '.join(names) or 'none'}", file=sys.stderr)
            return 1
        name = names[0]
    version = registry.get(name, args.ref)
    checkpoint = registry.artifact_path(version)
    if folder_sha256(checkpoint) != version.sha256:
        print(f"error: the registry copy of {name} v{version.version} does not match its sha256 {version.sha256[:12]}; refusing to serve it",
              file=sys.stderr)
        return 1
    served = f"{name}-v{version.version}"
    root = environment.project_home() / "serving"
    prepare_folder(checkpoint, root, served)
    registry.close()
    auth = "API key required" if os.environ.get(SERVE_API_KEY_ENV) else f"no API key (set ${SERVE_API_KEY_ENV} to require one)"
    print(f"serving {name} v{version.version} ({version.sha256[:12]}) as model {served!r} on http://{args.host}:{args.port}/v1; {auth}",
          flush=True)
    run_server(root, served, host=args.host, port=args.port, device=args.device)
    return 0
