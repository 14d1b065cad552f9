"""What the CPU is: one reader of ``/proc/cpuinfo`` for every layer that asks (run records, the precision switch,
the benchmarks). On systems without ``/proc/cpuinfo`` the answers fall back to ``platform`` and to empty flags."""
from __future__ import annotations

import platform

CPUINFO = "/proc/cpuinfo"


def cpuinfo(key: str, path: str = CPUINFO) -> str | None:
    """The value of the first ``key : value`` line of ``path`` (the first CPU's), or None if absent/unreadable."""
    try:
        with open(path) as f:
            for line in f:
                name, sep, value = line.partition(":")
                if sep and name.strip() == key:
                    return " ".join(value.split())
    except OSError:
        pass
    return None


def cpu_flags(path: str = CPUINFO) -> set[str]:
    """The CPU's feature flags (``avx512_bf16``, ``amx_tile``, ...); empty where ``/proc/cpuinfo`` is missing."""
    return set((cpuinfo("flags", path) or "").split())


def cpu_name(path: str = CPUINFO) -> str:
    """The CPU's model name, e.g. ``Intel(R) Xeon(R) Processor``: the same CPU budget buys different step counts on
    different CPUs, so every run records it. Elsewhere ``platform.processor()``."""
    return cpuinfo("model name", path) or platform.processor() or platform.machine() or "unknown"
