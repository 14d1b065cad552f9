"""The ground-truth metrics (digit localisation, foreground SSIM, per-frame block IoU) where the answer is known, on
generated M3SO and M3SO-NB clips: the truth scores 1, the truth with its digit shifted degrades with the shift, and
black, the mean training frame and copy-last place no digit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from s2sbench.eval.metrics import METRICS
from s2sbench.eval.truth_metrics import Truth

pytestmark = pytest.mark.usefixtures("one_thread")


def video(clips):
    return torch.from_numpy(np.stack([c.frames for c in clips])).permute(0, 1, 4, 2, 3).float() / 255


@pytest.fixture(scope="module", params=[("m3so", 30, 70), ("nb", 5, 25)], ids=["m3so", "nb"])
def case(request):
    from s2sbench.generators.m3so import generate_clips

    variant, P, T = request.param
    test = generate_clips("test", 0, 24, variant=variant)
    v = video(test)
    boxes = torch.tensor([c.meta["block"]["box"] for c in test]) if variant == "m3so" else None
    truth = Truth(boxes, 41 - P if boxes is not None else 0)
    mean = video(generate_clips("train", 0, 200, variant=variant)).mean(0)[P:T]
    return v[:, P:T], truth, {"black": torch.zeros_like(v[:, P:T]), "mean": mean.expand_as(v[:, P:T]),
                              "copy_last": v[:, P - 1:P].expand_as(v[:, P:T])}


def score(name, pred, target, truth):
    return METRICS.get(name).per_frame(pred[:, None], target, truth)[:, 0]  # (B, T)


def digit_shifted(target, truth, s):
    """The target with its digit (not the block) moved s px right and down."""
    keep = truth.outside_block(target[:, None])[:, 0]
    digit, rest = target * keep, target * (1 - keep)
    moved = torch.zeros_like(digit)
    moved[..., s:, s:] = digit[..., :-s, :-s]
    return torch.maximum(moved, rest)


def test_the_truth_scores_one(case):
    target, truth, _ = case
    assert score("digit_hit", target, target, truth).min() == 1
    assert score("digit_err", target, target, truth).max() == 0
    assert score("fg_ssim", target, target, truth).min() > 0.9999
    if truth.boxes is not None:
        iou = score("block_iou", target, target, truth)
        assert torch.isnan(iou[:, :truth.block_from]).all() and iou[:, truth.block_from:].mean() > 0.97


def test_a_shifted_digit_degrades_with_the_shift(case):
    target, truth, _ = case
    hit, err, fg = [], [], []
    for s in (1, 2, 3, 5, 8):
        p = digit_shifted(target, truth, s)
        hit.append(score("digit_hit", p, target, truth).mean().item())
        err.append(score("digit_err", p, target, truth).clamp(max=24).median().item())
        fg.append(score("fg_ssim", p, target, truth).mean().item())
    assert hit[0] > 0.95 and hit[1] > 0.9 and hit[2] < 0.1 and hit[-1] == 0  # 2.8 px is within 3 px, 4.2 px is not
    assert err == sorted(err) and err[0] == pytest.approx(np.sqrt(2), abs=0.3) and err[3] > 6
    assert fg[0] < 0.6 and max(fg[1:]) < 0.2  # thin strokes: a 1 px shift already costs most of the overlap


def test_black_mean_frame_and_copy_last_place_no_digit(case):
    target, truth, trivial = case
    for name, p in trivial.items():
        hit = score("digit_hit", p, target, truth)
        assert hit.mean() < (0.15 if name == "copy_last" else 0.01), name  # copy_last: right while the digit is slow
        assert hit[:, -5:].mean() < 0.1, name
        assert score("fg_ssim", p, target, truth).mean() < 0.1, name
        if name != "copy_last":  # no plausible digit at all: every error is the cap
            assert score("digit_err", p, target, truth).clamp(max=24).median() == 24, name
        if truth.boxes is not None:  # the mean frame's blurred block probability overlaps a little
            assert score("block_iou", p, target, truth)[:, truth.block_from:].mean() < (0.3 if name == "mean" else
                                                                                         0.05), name


def test_they_are_registered_and_apply_only_where_the_truth_exists():
    for n in ("digit_hit", "digit_err", "fg_ssim", "block_iou"):
        assert n in METRICS
    assert METRICS.get("digit_hit").applies({"positions": [[0, 0]]}) and not METRICS.get("digit_hit").applies({})
    assert not METRICS.get("block_iou").applies({"positions": [], "block": None})
    assert not METRICS.get("digit_err").higher_is_better and METRICS.get("digit_err").cap == 24
