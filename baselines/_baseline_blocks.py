"""Small helpers shared by the paper's baselines (SVG-LP, DDPAE, Vougioukas, audio-only); not part of ``_blocks``.

- ``frame_side``: the square frame side of a ``DataSpec`` (every DCGAN-style block here needs H == W);
- ``make_audio_encoder``: the per-frame audio encoder for any audio feature: the conv ``AudioEncoder`` of
  ``_blocks`` when the feature is a (bins, steps) patch (stft, mel), otherwise an MLP over the flat feature (raw);
- ``ConvCritic``: stride-2 conv stack (DCGAN discriminator) ending in a conv over the whole map to ``out_dim``;
- ``eval_mode``: run a block of code with a module in eval mode, restoring its previous mode afterwards;
- ``repeat_samples``: a deterministic prediction (B, T, C, H, W) broadcast to the sample axis (B, S, T, C, H, W).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from s2sbench.models import DataSpec

from ._blocks import AudioEncoder, encoder_widths


def frame_side(spec: DataSpec) -> int:
    """The side of the square frames of ``spec``; raises ValueError for non-square frames."""
    if spec.height != spec.width:
        raise ValueError(f"these baselines need square frames, got {spec.height}x{spec.width}")
    return spec.height


class FlatAudioEncoder(nn.Module):
    """(N, F) per-frame feature without a patch layout (e.g. raw samples) -> (N, dim): Linear-BN-LReLU x2, Tanh."""

    def __init__(self, in_dim: int, dim: int = 128, hidden: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(hidden, dim), nn.BatchNorm1d(dim), nn.Tanh())

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.net(a.reshape(a.shape[0], -1))  # (N, dim)


def make_audio_encoder(spec: DataSpec, dim: int = 128, base: int = 64) -> nn.Module:
    """Per-frame audio encoder (N, F) -> (N, dim) for the audio feature of ``spec``."""
    if spec.audio_patch is not None:
        return AudioEncoder(tuple(spec.audio_patch), dim, base)
    return FlatAudioEncoder(spec.audio_dim, dim, hidden=8 * base)


class ConvCritic(nn.Module):
    """(N, C, S, S) -> (N, out_dim): [Conv 4x4 s2 (+BN from layer 2) + LReLU] x n, then Conv over the final map."""

    def __init__(self, channels: int, side: int, out_dim: int = 1, base: int = 64) -> None:
        super().__init__()
        widths, final = encoder_widths(side, base)
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip([channels] + widths[:-1], widths)):
            layers.append(nn.Conv2d(cin, cout, 4, 2, 1))
            if i > 0:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(widths[-1], out_dim, final))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)  # (N, out_dim)


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
