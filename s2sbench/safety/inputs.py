"""What a command reads, checked before any compute: the device, and the note on too few clips.

- ``check_device``: ``--device`` is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, and CUDA ones need CUDA.
- ``clip_count_note``: the warning recorded in a result when fewer clips were evaluated than the preset asks for.

The data directory is checked by ``s2sbench.data.resolve`` (``open_data``).
"""
from __future__ import annotations

from pathlib import Path

from s2sbench.errors import InputError

DEVICE_HELP = "auto (CUDA if present), cpu, cuda, cuda:N"


def check_device(device: str | None):
    """``--device`` as a ``torch.device``; an unknown name or CUDA without CUDA is one ``InputError``."""
    import torch

    name = (device or "auto").strip()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    head, _, num = name.partition(":")
    if head not in ("cpu", "cuda") or (num and not num.isdigit()) or (head == "cpu" and num):
        raise InputError(f"--device {name!r} is not a device; use {DEVICE_HELP}")
    if head == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: CUDA is not available on this machine (torch {torch.__version__}); "
                             f"use --device cpu or auto")
        if num and int(num) >= torch.cuda.device_count():
            raise InputError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                             f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")
    return torch.device(name)


def clip_count_note(preset: str, wanted: int, used: int, available: int, root: Path) -> str:
    """A warning when the preset's clip count was not met ("" when it was)."""
    if not wanted or used == wanted:
        return ""
    return (f"evaluated {used} clips, not the {wanted} of preset {preset!r}: the test split of {root} has only "
            f"{available}; these numbers are not comparable with full {preset!r} runs")
