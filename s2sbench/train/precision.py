"""Which precision the training step runs in (``TrainConfig.precision``) and what the CPU offers natively.

- ``cpu_bf16()``: the CPU's native bf16 matrix support, ``"amx"`` (AMX-BF16 tiles), ``"avx512_bf16"``
  (AVX512-BF16 dot products) or ``"none"``, from ``/proc/cpuinfo`` and PyTorch's own CPU capability checks
  (either suffices); recorded in every run's summary (``train.hardware``).
- ``use_bf16(precision, device, model)``: whether the step runs under bf16 autocast. ``fp32`` never, ``bf16``
  always (also where bf16 is emulated: slow, but the switch is honoured), ``auto``: on CUDA, and on a CPU with
  native bf16 for the models whose class says ``cpu_bf16 = True``, the ones measured faster there with their
  learning tests passing (``benchmarks/bench_precision.py``, docs/performance.md); every other model trains in fp32.
"""
from __future__ import annotations

import functools
from typing import Any

import torch

from s2sbench.errors import ConfigError
from s2sbench.hostinfo import cpu_flags

PRECISIONS = ("auto", "fp32", "bf16")


@functools.lru_cache(maxsize=1)
def cpu_bf16() -> str:
    """``"amx"``, ``"avx512_bf16"`` or ``"none"``: the CPU's native bf16 support."""
    flags = cpu_flags()
    cap = getattr(torch, "cpu", None)

    def has(fn: str) -> bool:
        return bool(getattr(cap, fn, lambda: False)())

    if {"amx_bf16", "amx_tile"} <= flags or has("_is_amx_tile_supported"):
        return "amx"
    if "avx512_bf16" in flags or has("_is_avx512_bf16_supported"):
        return "avx512_bf16"
    return "none"


def use_bf16(precision: str, device: torch.device, model: Any) -> bool:
    """Whether the training step of ``model`` (a ``VideoPredictor`` or its class) runs under bf16 autocast on
    ``device`` (see the module docstring)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"train.precision={precision!r}: must be one of {', '.join(PRECISIONS)}; "
                          f"set --set train.precision=auto")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return True
    return device.type == "cpu" and cpu_bf16() != "none" and bool(getattr(model, "cpu_bf16", False))
