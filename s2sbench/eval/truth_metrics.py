"""Metrics from each clip's ground truth (M3SO / M3SO-NB): where the digit is, and where the block is.

Under ``ssim_paper`` a black frame outranks the ground truth shifted by 5 px, because a black background is most of
an M3SO frame. These metrics look only at the objects, so that no trivial output (black, the mean training frame,
copy-last) can score well on them; each is registered in ``METRICS`` like the image metrics, with ``truth`` naming
the metadata it needs (evaluation computes it only for clips whose ``meta`` has it):

- The true digit is the target frame's ink (pixels >= ``INK`` = 0.25) outside the block's box (``meta["block"]``;
  the digit never overlaps it); the predicted digit is the prediction's ink outside that box. Its *mass* is its
  ink pixel count, its *position* the centroid of its ink pixels. A prediction's digit is *plausible* when its mass
  is within a factor ``MASS`` = 2 of the true one.
- ``digit_hit`` (higher is better): 1 when the predicted digit is plausible and within ``HIT_PX`` = 3 px of the
  true position, else 0. Its average is the share of predicted frames that place the digit.
- ``digit_err`` (lower is better, px): the distance between the two positions; +inf (counted as its cap, 24 px, and
  in the capped counts) when the predicted digit is not plausible (no digit, or a smear). Summaries also record the
  median over (clip, frame) values.
- ``fg_ssim`` (higher is better): SSIM (7x7 uniform window, sample covariance, data range 1) averaged over the
  windows that contain true digit ink only, i.e. the digit's appearance wherever it truly is.
- ``block_iou`` (M3SO, higher is better; the paper's Table 3 quotes its final predicted frame): per frame, the IoU
  of the block located in the prediction (threshold 0.5, an opening with a 5x5 square that removes digit strokes,
  the largest remaining component's bounding box: ``s2sbench.eval.block``) with the true box; NaN before the block
  appears (summaries skip NaN). Shown with the digit scores: a model can draw a block and no digit, or the reverse.
  ``RETIRED`` keeps ``block_iou_t`` (the pixel IoU of the opened mask with the box, no longer computed) so that
  results scored with it render as they did.

Each takes ``pred`` (B, S, T, C, H, W), ``target`` (B, 1, T, C, H, W) and ``truth`` (``Truth``) and returns (B, S, T).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from s2sbench.eval.block import box_iou, locate_blocks
from s2sbench.eval.metrics import METRICS, RETIRED, Metric

Tensor = torch.Tensor
INK, MASS, HIT_PX, ERR_CAP = 0.25, 2.0, 3.0, 24.0


@dataclass
class Truth:
    """Ground truth of a batch of clips for the predicted frames: the block box per clip (or none) and from which
    predicted frame it is shown."""

    boxes: Tensor | None  # (B, 4) [x0, y0, x1, y1], exclusive ends
    block_from: int = 0  # index of the first predicted frame that shows the block

    def outside_block(self, like: Tensor) -> Tensor:
        """(B, 1, T, 1, H, W) float mask: 0 inside the block's box in frames that show it, else 1."""
        B, T, (H, W) = like.shape[0], like.shape[2], like.shape[-2:]
        keep = torch.ones(B, 1, T, 1, H, W, device=like.device)
        if self.boxes is not None:
            for b, (x0, y0, x1, y1) in enumerate(self.boxes.tolist()):
                keep[b, :, self.block_from:, :, y0:y1, x0:x1] = 0.0
        return keep


def _ink(x: Tensor, keep: Tensor) -> Tensor:
    return (x.float().mean(-3, keepdim=True) >= INK).float() * keep  # (..., 1, H, W)


def _centroid(ink: Tensor) -> tuple[Tensor, Tensor]:
    """(mass (...), position (..., 2) x, y) of ink masks (..., 1, H, W)."""
    H, W = ink.shape[-2:]
    mass = ink.sum((-3, -2, -1))
    ys = torch.arange(H, dtype=ink.dtype, device=ink.device)[:, None]
    xs = torch.arange(W, dtype=ink.dtype, device=ink.device)[None, :]
    m = mass.clamp(min=1.0)
    return mass, torch.stack([(ink * xs).sum((-3, -2, -1)) / m, (ink * ys).sum((-3, -2, -1)) / m], -1)


def _positions(pred: Tensor, target: Tensor, truth: Truth) -> tuple[Tensor, Tensor]:
    """(distance (B, S, T) in px, plausible (B, S, T) bool) between the predicted and the true digit."""
    keep = truth.outside_block(target)
    tm, tp = _centroid(_ink(target, keep))
    pm, pp = _centroid(_ink(pred, keep))
    dist = torch.linalg.vector_norm(pp - tp, dim=-1)
    plausible = (pm >= tm / MASS) & (pm <= tm * MASS) & (tm > 0)
    return dist, plausible


def digit_hit(pred: Tensor, target: Tensor, truth: Truth) -> Tensor:
    dist, ok = _positions(pred, target, truth)
    return (ok & (dist <= HIT_PX)).float()


def digit_err(pred: Tensor, target: Tensor, truth: Truth) -> Tensor:
    dist, ok = _positions(pred, target, truth)
    return torch.where(ok, dist, torch.full_like(dist, float("inf")))


def fg_ssim(pred: Tensor, target: Tensor, truth: Truth, k: int = 7) -> Tensor:
    """SSIM over the windows with true digit ink; 1 where the target shows no digit and the prediction none."""
    lead, (C, H, W) = torch.broadcast_shapes(pred.shape, target.shape)[:-3], pred.shape[-3:]
    x = pred.float().expand(*lead, C, H, W).reshape(-1, C, H, W)
    y = target.float().expand(*lead, C, H, W).reshape(-1, C, H, W)
    win = _ink(target, truth.outside_block(target)).expand(*lead, 1, H, W).reshape(-1, 1, H, W)
    on = F.max_pool2d(win, k, 1) > 0  # (N, 1, H-k+1, W-k+1): the window holds true ink
    mean = lambda t: F.avg_pool2d(t, k, 1)  # noqa: E731
    mx, my = mean(x), mean(y)
    n = k * k / (k * k - 1)
    vx, vy, cxy = n * (mean(x * x) - mx * mx), n * (mean(y * y) - my * my), n * (mean(x * y) - mx * my)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean(1, keepdim=True)
    cnt = on.sum((-3, -2, -1))
    out = torch.where(cnt > 0, (s * on).sum((-3, -2, -1)) / cnt.clamp(min=1), torch.ones_like(cnt, dtype=s.dtype))
    return out.reshape(lead)


def block_iou(pred: Tensor, target: Tensor, truth: Truth) -> Tensor:
    lead = torch.broadcast_shapes(pred.shape, target.shape)[:-3]
    out = torch.full(lead, float("nan"))
    if truth.boxes is None:
        return out
    found = locate_blocks(pred[:, :, truth.block_from:])  # (B, S, T', 4)
    iou = box_iou(found, truth.boxes.cpu().numpy()[:, None, None])  # (B, S, T')
    out[..., truth.block_from:] = torch.from_numpy(iou).float()
    return out


for _m in (
    Metric("digit_hit", digit_hit, True, f"share of frames whose predicted digit (ink >= {INK}, mass within x{MASS:g} "
           f"of the truth) lies within {HIT_PX:g} px of the true digit's centroid", truth="digit",
           label="Digit@3px", digits=3, selects=2),
    Metric("digit_err", digit_err, False, "distance in px between the predicted and the true digit centroid; no "
           f"plausible digit = +inf, capped at {ERR_CAP:g} px", unit="px", cap=ERR_CAP, truth="digit",
           label="Digit err", digits=2, selects=1),
    Metric("fg_ssim", fg_ssim, True, "SSIM (7x7 uniform, sample cov, data range 1) over the windows holding true "
           "digit ink", truth="digit", label="FG-SSIM", digits=4, selects=3),
    Metric("block_iou", block_iou, True, "per-frame IoU of the predicted block's box (threshold 0.5, 5x5 opening, "
           "largest component) with the true box; NaN before the block appears", truth="block", label="Block IoU"),
):
    METRICS.register(_m.name, _m)
RETIRED.register("block_iou_t", Metric("block_iou_t", None, True, "per-frame pixel IoU of the predicted block "
                                       "(threshold 0.5, 5x5 opening) with the true box; replaced by block_iou",
                                       truth="block", label="Block IoU", digits=3))
