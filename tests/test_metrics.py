"""Metric equivalence with scikit-image (same parameters) on random, structured and constant frames."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from s2sbench.eval.metrics import METRICS, psnr, ssim, ssim_paper

pytestmark = pytest.mark.usefixtures("one_thread")


def sk_paper(a, b):
    return structural_similarity(a, b, data_range=2.0)  # skimage 0.15 float defaults: 7x7 uniform, sample cov


def sk_wang(a, b):
    return structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


def sk_psnr(a, b):
    return peak_signal_noise_ratio(a, b, data_range=1.0)


def reference(fn, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per frame and channel with scikit-image in float64, averaged over channels: (..., C, H, W) -> (...)."""
    out = np.empty(pred.shape[:-3])
    for idx in np.ndindex(out.shape):
        out[idx] = np.mean([fn(target[idx][c], pred[idx][c]) for c in range(pred.shape[-3])])
    return out


def frames(kind: str, rng: np.random.Generator, shape=(3, 2, 48, 48)):
    """(target, pred) pairs in [0, 1], float64."""
    if kind == "random":
        t = rng.random(shape)
        return t, np.clip(t + 0.3 * rng.standard_normal(shape), 0, 1)
    if kind == "structured":  # a bright square moved by 2 px + blur-like edge, on a gradient background
        t = np.zeros(shape)
        y, x = np.mgrid[: shape[-2], : shape[-1]]
        t[...] = 0.2 * x / shape[-1]
        t[..., 10:25, 12:30] = 0.9
        p = np.roll(t, 2, axis=-1) * 0.95
        p[..., 0, :, :] = np.round(p[..., 0, :, :] * 255) / 255  # a quantised channel
        return t, p
    if kind == "constant":
        t = np.full(shape, 0.3)
        p = np.full(shape, 0.3)
        p[1] = 0.7  # a different constant in the second image
        p[2, 1] = 0.0
        return t, p
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["random", "structured", "constant"])
@pytest.mark.parametrize("ours,theirs", [(ssim_paper, sk_paper), (ssim, sk_wang), (psnr, sk_psnr)],
                         ids=["ssim_paper", "ssim", "psnr"])
def test_agrees_with_skimage(kind, ours, theirs):
    rng = np.random.default_rng(hash(kind) % 2**32)
    t, p = frames(kind, rng)
    ref = reference(theirs, p, t) if kind != "constant" or theirs is not sk_psnr else None
    if ref is None:
        with np.errstate(divide="ignore"):
            ref = reference(theirs, p, t)
    got = ours(torch.from_numpy(p).float(), torch.from_numpy(t).float()).double().numpy()
    assert got.shape == ref.shape
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], atol=1e-5, rtol=0)


def test_identical_frames_give_inf_psnr_and_ssim_one():
    x = torch.rand(2, 1, 48, 48)
    assert torch.isinf(psnr(x, x)).all() and (psnr(x, x) > 0).all()
    np.testing.assert_allclose(ssim_paper(x, x).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(ssim(x, x).numpy(), 1.0, atol=1e-6)


def test_paper_ssim_differs_from_wang_ssim():
    """On a harsh pair (shift + noise) the variants differ a lot (data range 2 vs 1), as ecosystem.md 5.3 reports."""
    rng = np.random.default_rng(0)
    t = np.zeros((64, 64))
    t[10:40, 20:50] = 0.8
    p = np.clip(np.roll(t, 3, 1) + 0.1 * rng.standard_normal(t.shape), 0, 1)
    a, b = (float(f(torch.from_numpy(p[None]), torch.from_numpy(t[None]))) for f in (ssim_paper, ssim))
    assert a == pytest.approx(sk_paper(t, p), abs=1e-5) and b == pytest.approx(sk_wang(t, p), abs=1e-5)
    assert a > b + 0.05


@pytest.mark.parametrize("fn", [ssim_paper, ssim, psnr])
def test_broadcast_and_chunking_do_not_change_scores(fn):
    """(B, S, T, C, H, W) against a broadcast target equals scoring every pair separately, at any chunk size."""
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 1, 3, 3, 32, 32, generator=g)  # RGB
    pred = (target + 0.2 * torch.randn(2, 4, 3, 3, 32, 32, generator=g)).clamp(0, 1)
    full = fn(pred, target.expand_as(pred).contiguous(), chunk_pixels=10**9)
    for chunk in (3 * 32 * 32, 7 * 32 * 32, None):
        np.testing.assert_allclose(fn(pred, target, chunk_pixels=chunk).numpy(), full.numpy(), atol=1e-6)
    assert full.shape == (2, 4, 3)


def test_registry_per_frame_shapes_and_direction():
    pred, target = torch.rand(2, 5, 4, 1, 16, 16), torch.rand(2, 4, 1, 16, 16)
    assert set(METRICS.keys()) == {"ssim_paper", "ssim", "psnr", "digit_hit", "digit_err", "fg_ssim", "block_iou",
                                   "lpips", "fvd"}
    learned = {n: (METRICS.get(n).scope, METRICS.get(n).higher_is_better) for n in METRICS.keys()
               if METRICS.get(n).learned}
    assert learned == {"lpips": ("frame", False), "fvd": ("set", False)}  # their own tests: test_lpips, test_fvd
    from s2sbench.eval.truth_metrics import Truth

    for name in set(METRICS.keys()) - set(learned):
        m = METRICS.get(name)
        assert m.scope == "frame" and m.higher_is_better == (name != "digit_err")
        assert m.per_frame(pred, target, Truth(torch.tensor([[0, 0, 4, 4], [8, 8, 16, 16]]), 1)).shape == (2, 5, 4)
    assert METRICS.get("psnr").cap == 100.0


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match="image shapes differ"):
        ssim_paper(torch.rand(1, 8, 8), torch.rand(1, 8, 9))
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        ssim(torch.rand(1, 8, 8), torch.rand(1, 8, 8))
