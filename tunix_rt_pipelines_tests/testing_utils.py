"""Capability markers and shared paths, declared once (TRL style). `conftest.py` skips `gpu` tests without CUDA."""

from __future__ import annotations

import importlib.util
import signal
import socket
import urllib.request
from pathlib import Path

import pytest

from tunix_rt_pipelines.environment import BUILTIN_DATASETS_DIR

REPO_ROOT = Path(__file__).resolve().parent.parent  # the checkout the tests run from (docs/, pyproject.toml)
REAL_DATASETS = BUILTIN_DATASETS_DIR  # golden-v1 and the trace sets as shipped in the package (read-only use)

require_gpu = pytest.mark.gpu
require_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs ray[tune]")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers the tests start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on `host:port` (within 0.5 s)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def answers(url: str) -> bool:
    """Whether `url` answers HTTP 200 within 5 s."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def default_signals() -> None:
    """`preexec_fn` that starts a command as a terminal or a process manager does: SIGINT handled by default.

    A non-interactive shell starts background jobs (`bash .ci/run &`, `nohup`) with SIGINT ignored, the
    ignore survives exec, and dagster's processes then map SIGTERM to it too, so a test of Ctrl-C or of
    a graceful SIGTERM would depend on how pytest itself was started.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
