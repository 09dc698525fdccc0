"""`host_facts()`: what on this machine decides the trained weights' last bits.

Training is bit-identical on reruns with the same CPU kernels and thread count, not across machines:
torch picks its SIMD kernels by CPU capability (AVX2, AVX-512, ...) and the thread count sets the
float summation order, so the same config trained on two hosts gives slightly different weights
(the default job measured 0.82, 0.84 and 0.85 on three 2-core hosts, each bit-identical on rerun).
Recording these facts beside the result lets a reader tell "another host" from "a regression".
"""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from `cpuinfo` (Linux), else what `platform` knows."""
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def host_facts(threads: int) -> dict[str, str | int]:
    """CPU model, torch's kernel capability, the training thread count and the torch version."""
    import torch

    return {"cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_threads": threads, "torch": torch.__version__.split("+")[0]}
