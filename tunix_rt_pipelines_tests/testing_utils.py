"""Capability markers, declared once (TRL style). `conftest.py` skips `gpu` tests without CUDA."""

from __future__ import annotations

import importlib.util

import pytest

require_gpu = pytest.mark.gpu
require_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs ray[tune]")
