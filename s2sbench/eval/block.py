"""Where M3SO's block is in a frame: the localisation behind the registered metric ``block_iou`` (paper Table 3,
``s2sbench.eval.truth_metrics``), which compares the located box with the true one (``box_iou``).

Localisation (documented rule, applied identically to every model):

1. average the channels and threshold at ``threshold`` (0.5): bright pixels;
2. morphological opening with a ``open_size`` x ``open_size`` square (5): removes every bright structure that cannot
   contain a 5x5 bright square, i.e. the digit's strokes (MNIST strokes are 2-4 px wide at this scale), thin
   blur halos and isolated noise, while a filled block survives unchanged;
3. the largest 8-connected component that remains; its bounding box ``[x0, y0, x1, y1]`` (x1, y1 exclusive, the
   convention of ``clip.meta["block"]["box"]``) is the predicted block. No component: an empty box (IoU 0).

Boxes are ``[x0, y0, x1, y1]`` with x to the right and y down, pixel units, exclusive upper bounds.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

EMPTY = (0, 0, 0, 0)


def opened_masks(frames: torch.Tensor, threshold: float = 0.5, open_size: int = 5) -> np.ndarray:
    """``frames`` (..., C, H, W) in [0, 1] -> boolean masks (..., H, W) after threshold and opening."""
    lead, (H, W) = frames.shape[:-3], frames.shape[-2:]
    m = (frames.float().mean(-3) >= threshold).float().reshape(-1, 1, H, W)
    pad = open_size // 2
    eroded = -F.max_pool2d(F.pad(-m, (pad, pad, pad, pad), value=-1.0), open_size, 1)
    opened = F.max_pool2d(F.pad(eroded, (pad, pad, pad, pad), value=0.0), open_size, 1)
    return (opened > 0.5).reshape(*lead, H, W).cpu().numpy()


def largest_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box of the largest 8-connected component of a 2-D boolean mask (``EMPTY`` if none)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    if n == 0:
        return EMPTY
    sizes = np.bincount(labels.ravel())[1:]
    ys, xs = np.nonzero(labels == int(np.argmax(sizes)) + 1)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def locate_blocks(frames: torch.Tensor, threshold: float = 0.5, open_size: int = 5) -> np.ndarray:
    """``frames`` (..., C, H, W) -> predicted boxes (..., 4) int64 ``[x0, y0, x1, y1]``."""
    masks = opened_masks(frames, threshold, open_size)
    flat = masks.reshape(-1, *masks.shape[-2:])
    boxes = [largest_box(m) if m.any() else EMPTY for m in flat]
    return np.array(boxes, dtype=np.int64).reshape(*masks.shape[:-2], 4)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a`` (..., 4) and ``b`` (..., 4) (broadcast); 0 when the union is empty."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda r: np.clip(r[..., 2] - r[..., 0], 0, None) * np.clip(r[..., 3] - r[..., 1], 0, None)  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)

