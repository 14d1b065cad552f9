"""Parts of DDPAE (used by ``baselines/ddpae.py``): the spatial transformer, Gaussian KL, pose and content networks.

Pose convention (as DDPAE's "crop" model): a pose is (s, x, y); pasting an object canvas into a frame samples the
canvas at ``s * u + (x, y)`` for every frame coordinate ``u`` in [-1, 1]^2 (affine [[s, 0, x], [0, s, y]]), so the
object appears centred at ``-(x, y) / s`` with ``1 / s`` of the frame's side; cropping is the inverse affine.
Both use ``align_corners=False`` explicitly (pixel-corner coordinates, independent of the two resolutions).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._conv import FrameEncoder


def constrain_pose(raw: torch.Tensor, scale_prior: float, learn_scale: bool = True) -> torch.Tensor:
    """Raw pose (..., 3) -> usable pose: s clamped to [S-1, S+1] (or fixed at S), (x, y) = tanh(xy) * (s - 0.5)."""
    if learn_scale:
        s = raw[..., :1].clamp(scale_prior - 1, scale_prior + 1)  # (..., 1)
    else:
        s = torch.full_like(raw[..., :1], scale_prior)  # (..., 1)
    return torch.cat([s, torch.tanh(raw[..., 1:]) * (s - 0.5)], -1)  # (..., 3)


def _theta(pose: torch.Tensor, inverse: bool) -> torch.Tensor:
    s, x, y = pose.unbind(-1)  # (N,) each
    zero = torch.zeros_like(s)
    if inverse:
        s, x, y = 1 / s, -x / s, -y / s
    return torch.stack([torch.stack([s, zero, x], -1), torch.stack([zero, s, y], -1)], -2)  # (N, 2, 3)


def paste(objects: torch.Tensor, pose: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Objects (N, C, h, w) placed into frames (N, C, *size) at poses (N, 3); zero outside the object."""
    grid = F.affine_grid(_theta(pose, False), [objects.shape[0], objects.shape[1], *size], align_corners=False)
    return F.grid_sample(objects, grid, align_corners=False, padding_mode="zeros")  # (N, C, H, W)


def crop(frames: torch.Tensor, pose: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The object canvases (N, C, *size) of frames (N, C, H, W) at poses (N, 3) (inverse of ``paste``)."""
    grid = F.affine_grid(_theta(pose, True), [frames.shape[0], frames.shape[1], *size], align_corners=False)
    return F.grid_sample(frames, grid, align_corners=False, padding_mode="zeros")  # (N, C, h, w)


def kl_normal(mu_q: torch.Tensor, std_q: torch.Tensor, mu_p: torch.Tensor | float, std_p: torch.Tensor | float
              ) -> torch.Tensor:
    """Elementwise KL(N(mu_q, std_q^2) || N(mu_p, std_p^2)) (same shape as ``mu_q``)."""
    std_p = torch.as_tensor(std_p, dtype=mu_q.dtype, device=mu_q.device)
    return torch.log(std_p / std_q) + (std_q ** 2 + (mu_q - mu_p) ** 2) / (2 * std_p ** 2) - 0.5


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, std: float) -> torch.Tensor:
    """Summed negative log-likelihood of ``x`` under N(mean, std^2) per element."""
    return (0.5 * ((x - mean) / std) ** 2 + math.log(std) + 0.5 * math.log(2 * math.pi)).sum()


def _split_gaussian(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu, pre = h.chunk(2, -1)
    return mu, F.softplus(pre) + 1e-4  # mean, std


class PoseNet(nn.Module):
    """Frames (B, P, C, H, W) -> Gaussians of the initial poses (B, K, 3) and of the pose steps (B, K, T-1, 3).

    A frame CNN embeds each seen frame; ``encode_rnn`` runs over the seen frames once per component, component k
    also reading component k-1's hidden state at the same frame (zeros if ``independent``); ``initial_rnn`` runs over
    the components' first-frame states to give the initial poses; ``predict_rnn`` continues each component from its
    encoder state for the future steps, fed its previous output and component k-1's state. Shared heads give the
    mean and softplus std of each pose step.
    """

    def __init__(self, channels: int, side: int, components: int, latent: int = 256, hidden: int = 64,
                 ngf: int = 8, independent: bool = False) -> None:
        super().__init__()
        self.K, self.hidden, self.independent = components, hidden, independent
        self.frame_cnn = FrameEncoder(channels, side, latent, ngf)
        self.encode_rnn = nn.LSTMCell(latent + hidden, hidden)
        self.predict_rnn = nn.LSTMCell(2 * hidden, hidden)
        self.initial_rnn = nn.LSTMCell(hidden, hidden)
        self.beta_head = nn.Linear(hidden, 6)
        self.pose0_head = nn.Linear(hidden, 6)

    def _couple(self, h: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(h) if self.independent else h

    def forward(self, frames: torch.Tensor, n_future: int) -> tuple[torch.Tensor, ...]:
        B, P = frames.shape[:2]
        f = self.frame_cnn(frames.flatten(0, 1))[0].view(B, P, -1)  # (B, P, latent)
        zero = f.new_zeros(B, self.hidden)
        states: list = [None] * self.K
        hs: list[list[torch.Tensor]] = [[] for _ in range(self.K)]  # hs[k][t]: (B, hidden)
        for t in range(P):
            above = zero
            for k in range(self.K):
                states[k] = self.encode_rnn(torch.cat([f[:, t], self._couple(above)], 1), states[k])
                above = states[k][0]
                hs[k].append(above)
        st = None
        p0 = []
        for k in range(self.K):
            st = self.initial_rnn(hs[k][0], st)
            p0.append(self.pose0_head(st[0]))  # (B, 6)
        prev = [hs[k][-1] for k in range(self.K)]
        for _ in range(n_future):
            above = zero
            for k in range(self.K):
                states[k] = self.predict_rnn(torch.cat([prev[k], self._couple(above)], 1), states[k])
                above = prev[k] = states[k][0]
                hs[k].append(above)
        steps = torch.stack([torch.stack(h[1:], 1) for h in hs], 1)  # (B, K, T-1, hidden)
        p0_mu, p0_std = _split_gaussian(torch.stack(p0, 1))  # (B, K, 3) each
        b_mu, b_std = _split_gaussian(self.beta_head(steps))  # (B, K, T-1, 3) each
        return p0_mu, p0_std, b_mu, b_std


class ContentNet(nn.Module):
    """Object canvases cropped from the seen frames (N, P, C, h, w) -> content Gaussian (N, dim) mean and std."""

    def __init__(self, channels: int, side: int, dim: int = 128, hidden: int = 64, ngf: int = 8) -> None:
        super().__init__()
        self.encoder = FrameEncoder(channels, side, dim, ngf)
        self.rnn = nn.LSTM(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * dim)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        N, P = patches.shape[:2]
        e = self.encoder(patches.flatten(0, 1))[0].view(N, P, -1)  # (N, P, dim)
        _, (h, _) = self.rnn(e)  # h: (1, N, hidden)
        return _split_gaussian(self.head(h[-1]))  # (N, dim) each
