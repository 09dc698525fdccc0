"""Which `device` settings this machine can honour, checked when a config is built, not when a step reaches it.

`auto` and `cpu` always work and never import torch (loading the Definitions stays fast);
`cuda` and `cuda:N` import torch and ask it, so `device: cuda` on a machine without a usable
card is refused with what the machine has, before any run starts.
"""

from __future__ import annotations

import re

DEVICE_PATTERN = r"^(auto|cpu|cuda|cuda:\d{1,3})$"
DEVICE_HELP = "auto (CUDA when present, else CPU), cpu, cuda or cuda:N (N < the number of CUDA devices)"


def check_device(device: str) -> str:
    """Return `device` when this machine can run on it.

    Raises:
        ValueError: An unknown device name, or a CUDA device this machine does not have.
    """
    if not re.fullmatch(DEVICE_PATTERN, device):
        raise ValueError(f"device {device[:40]!r}{'...' if len(device) > 40 else ''} is not supported; use {DEVICE_HELP}")
    if not device.startswith("cuda"):
        return device
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        built = f"torch {torch.__version__}" + (f" for CUDA {torch.version.cuda}" if torch.version.cuda else " without CUDA")
        raise ValueError(f"device {device!r} needs a CUDA GPU, and this machine has none that {built} can use; "
                         "use auto (CPU here) or cpu")
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        raise ValueError(f"device {device!r} does not exist: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}")
    return device
