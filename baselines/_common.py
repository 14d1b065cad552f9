"""Helpers the models share around the ``VideoPredictor`` contract (no network blocks: those are in ``_conv`` and
``_sequence``): the square frame side of a data spec, running a module in eval mode, and broadcasting a deterministic
prediction to the sample axis."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from s2sbench.errors import ConfigError
from s2sbench.models import DataSpec


def frame_side(spec: DataSpec) -> int:
    """The side of the square frames of ``spec``; raises ValueError for non-square frames."""
    if spec.height != spec.width:
        raise ConfigError(f"these baselines need square frames, got {spec.height}x{spec.width}")
    return spec.height


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """``with eval_mode(m):`` runs with ``m.eval()`` and gradients off, then restores ``m.training``."""
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was)


def repeat_samples(pred: torch.Tensor, n_samples: int) -> torch.Tensor:
    """(B, T, C, H, W) -> (B, n_samples, T, C, H, W): the same prediction for every sample (deterministic models)."""
    return pred[:, None].expand(-1, n_samples, -1, -1, -1, -1).contiguous()  # (B, S, T, C, H, W)
