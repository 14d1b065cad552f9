"""Sample diversity (paper Fig. 5b/c): best-of-K curves, mean pairwise similarity among K samples, optical flow.

- ``best_of_k(scores)``: for K = 1..S, the score of the best of the first K samples (per frame, as the paper's
  protocol), averaged over clips and frames. Samples are i.i.d., so the first K are a fair draw of K.
- ``pairwise_curve(samples)``: for K = 2..S, the mean SSIM over all pairs among the first K samples (per frame,
  averaged over frames and clips). Lower means more diverse.
- ``flow_images(frames)``: OpenCV Farneback optical flow between consecutive frames, encoded as a 2-channel image
  in [0, 1] (``0.5 + 0.5 * clip(flow / FLOW_MAX_PX, -1, 1)`` for dx and dy) so that the same SSIM applies to it; the
  paper computed "SSIMs on optical flows" for the real datasets with an unstated method. Parameters: ``FARNEBACK``.
"""
from __future__ import annotations

import numpy as np
import torch

from s2sbench.eval.metrics import ssim_paper

Tensor = torch.Tensor
FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
FLOW_MAX_PX = 8.0


def best_of_k(scores: Tensor, higher_is_better: bool = True, cap: float | None = None) -> list[float]:
    """``scores`` (B, S, T) -> list of S values: mean over clips and frames of the best among the first K samples.
    +-inf (PSNR of exact matches) counts as +-``cap``, the metric's cap, as in every other summary."""
    x = scores.double()
    x = x.clamp(-cap, cap) if cap is not None else x
    best = x.cummax(1).values if higher_is_better else x.cummin(1).values  # (B, S, T)
    return best.mean((0, 2)).tolist()


def pairwise_matrix(samples: Tensor, metric=ssim_paper) -> Tensor:
    """``samples`` (S, T, C, H, W) -> (S, S, T) similarity of every pair (upper triangle filled, i < j; rest NaN)."""
    S, T = samples.shape[:2]
    out = torch.full((S, S, T), float("nan"))
    for i in range(S - 1):
        out[i, i + 1 :] = metric(samples[i + 1 :], samples[i].unsqueeze(0)).cpu()
    return out


def pairwise_curve(matrices: Tensor) -> list[float]:
    """``matrices`` (B, S, S, T) from ``pairwise_matrix`` -> for K = 2..S the mean pairwise score among the first K."""
    B, S, _, T = matrices.shape
    upper = torch.triu(torch.ones(S, S, dtype=torch.bool), diagonal=1)
    m = torch.where(upper[None, :, :, None], matrices.double(), torch.zeros((), dtype=torch.float64))
    col = m.sum(1)  # (B, S, T): sum over i < j of pair (i, j), indexed by j
    pair_sums = col.cumsum(1)  # (B, S, T): sum over pairs within the first j + 1 samples
    k = torch.arange(1, S + 1, dtype=torch.float64)
    n_pairs = k * (k - 1) / 2
    curve = (pair_sums.mean((0, 2)) / n_pairs.clamp(min=1))[1:]
    return curve.tolist()


def flow_images(frames: Tensor, max_px: float = FLOW_MAX_PX) -> Tensor:
    """``frames`` (..., T, C, H, W) in [0, 1] -> flow images (..., T - 1, 2, H, W) in [0, 1] (dx, dy)."""
    import cv2

    lead, (T, C, H, W) = frames.shape[:-4], frames.shape[-4:]
    gray = frames.float().mean(-3) if C == 3 else frames.float()[..., 0, :, :]
    u8 = (gray.clamp(0, 1) * 255).round().to(torch.uint8).reshape(-1, T, H, W).cpu().numpy()
    out = np.empty((u8.shape[0], T - 1, 2, H, W), dtype=np.float32)
    for n in range(u8.shape[0]):
        for t in range(T - 1):
            flow = cv2.calcOpticalFlowFarneback(u8[n, t], u8[n, t + 1], None, **FARNEBACK)  # (H, W, 2)
            out[n, t] = np.clip(flow / max_px, -1.0, 1.0).transpose(2, 0, 1) * 0.5 + 0.5
    return torch.from_numpy(out).reshape(*lead, T - 1, 2, H, W)
