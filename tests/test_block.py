"""Block localisation and IoU on frames whose answer is known; the registered metric ``block_iou`` is that IoU per
frame (Table 3 quotes its final frame)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from s2sbench.eval.block import box_iou, locate_blocks
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.truth_metrics import Truth


def frame_with(box=None, digit=True, noise=0.0, seed=0) -> torch.Tensor:
    """A 48x48 frame: optional white block at box [x0, y0, x1, y1), a digit-like stroke pattern, noise."""
    f = np.zeros((48, 48), dtype=np.float32)
    if digit:  # strokes 3 px wide: a ring and a bar, like an MNIST "0" or "1"
        yy, xx = np.mgrid[:48, :48]
        r = np.hypot(yy - 12, xx - 12)
        f[(r > 6) & (r < 9)] = 0.95
        f[25:40, 5:8] = 1.0
    if box is not None:
        x0, y0, x1, y1 = box
        f[y0:y1, x0:x1] = 1.0
    f += noise * np.random.default_rng(seed).standard_normal(f.shape).astype(np.float32)
    return torch.from_numpy(np.clip(f, 0, 1))[None]  # (1, H, W)


def test_exact_box_is_found_next_to_a_digit():
    box = [28, 26, 44, 42]
    assert locate_blocks(frame_with(box)).tolist() == box
    assert box_iou(locate_blocks(frame_with(box)), np.array(box)) == pytest.approx(1.0)


def test_block_touching_the_border_and_noise():
    box = [32, 0, 48, 16]
    assert locate_blocks(frame_with(box, noise=0.1)).tolist() == box


def test_no_block_means_empty_box_and_zero_iou():
    assert locate_blocks(frame_with(None)).tolist() == [0, 0, 0, 0]  # strokes are removed by the opening
    assert box_iou(locate_blocks(frame_with(None)), np.array([10, 10, 20, 20])) == 0.0


def test_largest_component_wins_and_batches_work():
    f = frame_with([30, 30, 46, 46])
    f[0, 2:9, 30:37] = 1.0  # a smaller 7x7 bright patch elsewhere
    frames = torch.stack([f, frame_with([5, 20, 21, 36], digit=False)])  # (2, 1, H, W)
    assert locate_blocks(frames).tolist() == [[30, 30, 46, 46], [5, 20, 21, 36]]


def test_box_iou_values():
    assert box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(50 / 150)
    assert box_iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0
    assert box_iou(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0])) == 0.0


def test_dim_grey_block_is_not_a_block():
    f = torch.zeros(1, 48, 48)
    f[0, 10:30, 10:30] = 0.4  # below the 0.5 threshold
    assert locate_blocks(f).tolist() == [0, 0, 0, 0]


def test_the_registered_metric_is_the_box_iou_per_frame_from_the_block_on():
    box, half = [28, 26, 44, 42], [28, 26, 36, 42]  # the true box; a prediction covering its left half
    frames = [frame_with(None), frame_with(box), frame_with(half), frame_with(None)]
    pred = torch.stack(frames)[None, None]  # (B=1, S=1, T=4, 1, H, W)
    iou = METRICS.get("block_iou").per_frame(pred, torch.zeros(1, 4, 1, 48, 48), Truth(torch.tensor([box]), 1))
    assert torch.isnan(iou[0, 0, 0]) and iou[0, 0, 1:].tolist() == pytest.approx([1.0, 0.5, 0.0])
