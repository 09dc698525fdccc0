"""`ray_head()`: a private `ray start --head` cluster on 127.0.0.1 for the tests that need a real, separately started one.

Its own ports and temp folder, so no other Ray on the machine finds it or clashes with it; stopped by
process group, never with `ray stop` (which stops every Ray of the user). With `dashboard=True` the
dashboard's job server answers on `RayHead.dashboard_url`, where Ray jobs are submitted and listed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tunix_rt_pipelines_tests.testing_utils import free_port, port_open


@dataclass(frozen=True)
class RayHead:
    address: str  # host:port of the cluster (ray.init / RayResource.address)
    dashboard_url: str  # http://host:port of the dashboard ("" without one)
    log: Path  # the head's own output


def wait_for(probe: Callable[[], object], timeout: float, proc: subprocess.Popen | None = None):
    """`probe()`'s first truthy value, polled every 0.5 s; fails after `timeout` s or when `proc` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended early:\n{proc.stdout.read()[-3000:] if proc.stdout else ''}")
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s")


def _http_answers(url: str) -> bool:
    """Whether an HTTP server answers at `url`, whatever it says (the dashboard asks for Ray's token: 401)."""
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@contextlib.contextmanager
def ray_head(num_cpus: int, resources: dict[str, float] | None = None, dashboard: bool = False) -> Iterator[RayHead]:
    """A head node with `num_cpus` CPUs, no GPU, the custom `resources` (labels for placement), and the dashboard if asked."""
    temp_dir = tempfile.mkdtemp(prefix="rt-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port, dashboard_port = free_port(), free_port()
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
               f"--num-cpus={num_cpus}", "--num-gpus=0", f"--include-dashboard={'true' if dashboard else 'false'}",
               "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}", f"--ray-client-server-port={free_port()}",
               f"--dashboard-agent-listen-port={free_port()}", f"--temp-dir={temp_dir}", "--disable-usage-stats",
               *([f"--resources={json.dumps(resources)}"] if resources else [])]
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0", "RAY_AUTH_MODE": "token"}
    log_path = Path(temp_dir) / "head.log"
    log = log_path.open("w")
    head = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{dashboard_port}" if dashboard else ""
    try:
        wait_for(lambda: any(Path(temp_dir).glob("session_*/logs/raylet.out")) and port_open(port), timeout=120, proc=head)
        if dashboard:
            wait_for(lambda: _http_answers(f"{url}/api/version"), timeout=120, proc=head)
        time.sleep(3)
        yield RayHead(address=f"127.0.0.1:{port}", dashboard_url=url, log=log_path)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # what SIGTERM left (the `ray start` process itself lingers)
        head.wait(timeout=10)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
