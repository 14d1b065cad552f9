"""Which precision the training step runs in (``TrainConfig.precision``) and what the CPU is and offers natively.

- ``cpuinfo(key)``: the first ``key`` line of ``/proc/cpuinfo`` (``flags``, ``model name``), None where there is none.
- ``cpu_name()``: the CPU's model name, recorded in every run's ``hardware.cpu`` (the same CPU budget buys different
  step counts on different CPUs).
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
import platform
from typing import Any

import torch

from s2sbench.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")


def cpuinfo(key: str, path: str = "/proc/cpuinfo") -> str | None:
    """The value of the first ``key`` line of ``path`` (its whitespace collapsed), None where there is no such line or
    no such file (not Linux)."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return " ".join(value.split())
    except OSError:
        pass
    return None


def cpu_name(path: str = "/proc/cpuinfo") -> str:
    """The CPU's model name, e.g. ``Intel(R) Xeon(R) Processor`` (elsewhere ``platform.processor()``)."""
    return cpuinfo("model name", path) or platform.processor() or platform.machine() or "unknown"


@functools.lru_cache(maxsize=1)
def cpu_bf16() -> str:
    """``"amx"``, ``"avx512_bf16"`` or ``"none"``: the CPU's native bf16 support."""
    flags = set((cpuinfo("flags") or "").split())
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
