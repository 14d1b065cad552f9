"""Per-frame image metrics in vectorised torch (CPU or CUDA): the kernels behind ``s2sbench.eval.metrics.METRICS``.

Every function takes ``pred`` and ``target`` of shape ``(..., C, H, W)`` (float, in [0, 1], broadcastable against each
other) and returns ``(...)``: one score per frame, averaged over channels.

- ``ssim_paper``: what the Sound2Sight paper computed (scikit-image 0.15 ``compare_ssim`` defaults on float images):
  7x7 uniform window, sample covariance (N / (N - 1)), K1 = 0.01, K2 = 0.03, **data range 2** (skimage's float
  default), mean of the SSIM map after a border crop of 3 (= the "valid" window positions), per channel, averaged.
- ``ssim``: the standard SSIM of Wang et al. 2004: 11x11 Gaussian window (sigma 1.5, truncated at 3.5 sigma and
  normalised, as scipy's ``gaussian_filter``), population covariance, data range 1, border crop of 5.
- ``psnr``: ``10 log10(1 / MSE)`` (data range 1) per channel, averaged over channels. A frame identical to its
  target gives **+inf** (as scikit-image does); summaries clamp +inf to ``Metric.cap`` (100 dB) and count it.

Each agrees with ``skimage.metrics.structural_similarity`` / ``peak_signal_noise_ratio`` called with the same
parameters to 1e-5 (``tests/test_metrics.py``). Speed: windows are computed as separable running sums of shifted
views over cache-sized chunks; statistics of an operand that is broadcast (the ground truth shared by 100 samples)
are computed once. Each image is centred on its own mean before the moments are taken (SSIM's (co)variances
do not change; the mean is added back for the luminance term), which keeps float32 within ~1e-7 of float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch

Tensor = torch.Tensor
# pixels (C * H * W * frames) per chunk on the CPU: keeps the working set in L2; on CUDA everything at once
CPU_CHUNK_PIXELS = 128 * 1024
CUDA_CHUNK_PIXELS = 1 << 26


class _Workspace:
    """Reusable scratch tensors for one metric call, keyed by role and shape: chunks of equal shape reuse them,
    which avoids an allocation (and its page faults) per operation."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.bufs = device, {}

    def __call__(self, name: str, shape) -> Tensor:
        key = (name, tuple(shape))
        if key not in self.bufs:
            self.bufs[key] = torch.empty(key[1], dtype=torch.float32, device=self.device)
        return self.bufs[key]


def _shape(m: Tensor, dim: int, n: int) -> list[int]:
    s = list(m.shape)
    s[dim] = n
    return s


def _window_sum(m: Tensor, k: int, dim: int, ws: _Workspace, tag: str) -> Tensor:
    """Sums over every length-``k`` window along ``dim`` ('valid'), from power-of-two partial sums (few passes)."""
    out_n = m.shape[dim] - k + 1
    pows, p = {1: m}, 1
    while 2 * p <= k:
        s = pows[p]
        n = s.shape[dim] - p
        buf = ws(f"{tag}{2 * p}", _shape(s, dim, n))
        pows[2 * p] = torch.add(s.narrow(dim, 0, n), s.narrow(dim, p, n), out=buf)
        p *= 2
    terms, off = [], 0
    for p in sorted(pows, reverse=True):
        if off + p <= k:
            terms.append(pows[p].narrow(dim, off, out_n))
            off += p
    out = ws(f"{tag}out", _shape(m, dim, out_n))
    if len(terms) == 1:
        return out.copy_(terms[0])
    torch.add(terms[0], terms[1], out=out)
    for t in terms[2:]:
        out.add_(t)
    return out


def _uniform(k: int) -> Callable[[Tensor, _Workspace], Tensor]:
    def filt(m: Tensor, ws: _Workspace) -> Tensor:  # (..., H, W) -> (..., H-k+1, W-k+1) window means
        return _window_sum(_window_sum(m, k, -2, ws, "h"), k, -1, ws, "w").mul_(1.0 / (k * k))
    filt.size = k  # type: ignore[attr-defined]
    return filt


def _gaussian(sigma: float, truncate: float = 3.5) -> Callable[[Tensor, _Workspace], Tensor]:
    r = int(truncate * sigma + 0.5)
    x = torch.arange(-r, r + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    w = (w / w.sum()).tolist()

    def corr(m: Tensor, dim: int, out: Tensor) -> Tensor:
        n = m.shape[dim] - 2 * r
        torch.mul(m.narrow(dim, 0, n), w[0], out=out)
        for j in range(1, 2 * r + 1):
            out.add_(m.narrow(dim, j, n), alpha=w[j])
        return out

    def filt(m: Tensor, ws: _Workspace) -> Tensor:
        h = corr(m, -2, ws("gh", _shape(m, -2, m.shape[-2] - 2 * r)))
        return corr(h, -1, ws("gw", _shape(h, -1, h.shape[-1] - 2 * r)))
    filt.size = 2 * r + 1  # type: ignore[attr-defined]
    return filt


_PAPER_FILTER, _WANG_FILTER = _uniform(7), _gaussian(1.5)


@dataclass(frozen=True)
class _SSIMParams:
    filt: Callable[[Tensor, _Workspace], Tensor]
    c1: float
    c2: float
    cov_norm: float


def _centre(x: Tensor) -> Tensor:
    """Per-image constant subtracted before the moments: makes float32 variances of flat images exactly 0."""
    return x.mean((-2, -1), keepdim=True)


def _moments(c: Tensor, u: Tensor, uu: Tensor, p: _SSIMParams, out: Callable | None = None) -> tuple[Tensor, ...]:
    """From the centring constant c and the window means of x - c (u) and (x - c)^2 (uu): (c, u, window mean mu,
    mu^2 + C1 / 2, var + k) with var = uu - u^2 (population) and k = C2 / (2 cov_norm). ``_combine`` then needs
    only sums of these: B1 = q_x + q_y, B2 / cov_norm = v_x + v_y. ``out(name, shape)`` gives scratch buffers."""
    var = uu.addcmul_(u, u, value=-1.0).add_(p.c2 / (2.0 * p.cov_norm))
    mean = torch.add(u, c, out=out("mean", u.shape)) if out else u + c
    half_c1 = torch.tensor(p.c1 / 2.0, dtype=u.dtype, device=u.device)
    q = torch.addcmul(half_c1, mean, mean, out=out("sq", u.shape)) if out else torch.addcmul(half_c1, mean, mean)
    return c, u, mean, q, var


def _stats(x: Tensor, p: _SSIMParams) -> tuple[Tensor, ...]:
    """Window statistics of one operand, kept while it is broadcast against many others (own memory)."""
    c = _centre(x)
    m = torch.empty((2, *x.shape), dtype=torch.float32, device=x.device)
    torch.sub(x, c, out=m[0])
    torch.mul(m[0], m[0], out=m[1])
    u, uu = p.filt(m, _Workspace(x.device))
    return _moments(c, u, uu, p)


def _combine(x: Tensor, y: Tensor, sx, sy, p: _SSIMParams, ws: _Workspace) -> Tensor:
    """Mean SSIM over the valid window positions of every (x, y) image pair (broadcast): (...)."""
    shape = torch.broadcast_shapes(x.shape, y.shape)
    sy = sy if sy is not None else _stats(y, p)
    yc = torch.sub(y, sy[0], out=ws("yc", y.shape))
    if sx is None and x.shape == shape:  # the common case: x, x^2 and x*y filtered in one pass
        c = _centre(x)
        m = ws("m3", (3, *shape))
        torch.sub(x, c, out=m[0])
        torch.mul(m[0], m[0], out=m[1])
        torch.mul(m[0], yc, out=m[2])
        u, uu, cov = p.filt(m, ws)
        sx = _moments(c, u, uu, p, ws)
    else:
        sx = sx if sx is not None else _stats(x, p)
        cov = p.filt(torch.mul(x - sx[0], yc), ws)
    _, ux, mx, qx, vx = sx
    _, uy, my, qy, vy = sy
    # SSIM = (2 mx my + C1)(2 cn cov + C2) / ((mx^2 + my^2 + C1)(cn (vx + vy) + C2)), cn = cov_norm; dividing
    # the second factors by cn: = (4 mx my + 2 C1)(cov + k) / ((qx + qy)(vx + vy)) with the moments above
    cov.addcmul_(ux, uy, value=-1.0).add_(p.c2 / (2.0 * p.cov_norm))  # cov + k
    two_c1 = torch.tensor(2.0 * p.c1, dtype=cov.dtype, device=cov.device)
    a1 = torch.addcmul(two_c1, mx, my, value=4.0, out=ws("a1", cov.shape))
    b1 = torch.add(qx, qy, out=ws("b1", cov.shape))
    b2 = torch.add(vx, vy, out=ws("b2", cov.shape))
    return cov.mul_(a1).div_(b1.mul_(b2)).mean((-2, -1))


def _chunked(x: Tensor, y: Tensor, leaf: Callable, budget: int, stats: Callable | None = None,
             sx=None, sy=None) -> Tensor:
    """``leaf(x, y, sx, sy)`` over the broadcast batch of ``(..., H, W)`` images, split along leading dims into
    chunks of at most ``budget`` pixels; ``stats`` of an operand shared by every piece of a split are computed once."""
    shape = torch.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    pix = x.shape[-2] * x.shape[-1]
    if len(shape) == 0 or math.prod(shape) * pix <= budget:
        return leaf(x, y, sx, sy)
    if shape[0] == 1:  # drop the unit leading dim
        def drop(s):
            return None if s is None else tuple(t[0] for t in s)

        return _chunked(x[0], y[0], leaf, budget, stats, drop(sx), drop(sy)).unsqueeze(0)
    if stats is not None and x.shape[0] == 1 and sx is None:
        sx = stats(x)
    if stats is not None and y.shape[0] == 1 and sy is None:
        sy = stats(y)
    step = max(1, budget // (math.prod(shape[1:]) * pix))
    outs = []
    for i in range(0, shape[0], step):
        def cut(t: Tensor) -> Tensor:
            return t if t.shape[0] == 1 else t[i : i + step]

        outs.append(_chunked(cut(x), cut(y), leaf, budget, stats, None if sx is None else tuple(map(cut, sx)),
                             None if sy is None else tuple(map(cut, sy))))
    return torch.cat(outs)


def _prepare(pred: Tensor, target: Tensor, min_side: int) -> tuple[Tensor, Tensor]:
    if pred.dim() < 3 or target.dim() < 3:
        raise ValueError(f"expected (..., C, H, W) images, got {tuple(pred.shape)} and {tuple(target.shape)}")
    if pred.shape[-3:] != target.shape[-3:]:
        raise ValueError(f"image shapes differ: {tuple(pred.shape[-3:])} vs {tuple(target.shape[-3:])} (C, H, W)")
    if min(pred.shape[-2:]) < min_side:
        raise ValueError(f"images of {tuple(pred.shape[-2:])} are smaller than the {min_side}x{min_side} window")
    nd = max(pred.dim(), target.dim())
    pred = pred.float().reshape((1,) * (nd - pred.dim()) + tuple(pred.shape))
    target = target.to(pred.device).float().reshape((1,) * (nd - target.dim()) + tuple(target.shape))
    return pred, target


def _budget(x: Tensor, chunk_pixels: int | None) -> int:
    return chunk_pixels or (CUDA_CHUNK_PIXELS if x.is_cuda else CPU_CHUNK_PIXELS)


def _ssim_generic(pred: Tensor, target: Tensor, filt, data_range: float, sample_cov: bool,
                  chunk_pixels: int | None) -> Tensor:
    n = filt.size * filt.size
    p = _SSIMParams(filt, (0.01 * data_range) ** 2, (0.03 * data_range) ** 2, n / (n - 1) if sample_cov else 1.0)
    pred, target = _prepare(pred, target, filt.size)
    with torch.no_grad():
        ws = _Workspace(pred.device)
        out = _chunked(pred, target, partial(_combine, p=p, ws=ws), _budget(pred, chunk_pixels), partial(_stats, p=p))
    return out.mean(-1)  # (..., C) -> (...)


def ssim_paper(pred: Tensor, target: Tensor, chunk_pixels: int | None = None) -> Tensor:
    """SSIM as the paper computed it (skimage 0.15 float defaults: 7x7 uniform, sample cov, data range 2)."""
    return _ssim_generic(pred, target, _PAPER_FILTER, 2.0, True, chunk_pixels)


def ssim(pred: Tensor, target: Tensor, chunk_pixels: int | None = None) -> Tensor:
    """Standard SSIM (Wang et al. 2004): Gaussian sigma 1.5 (11x11), population covariance, data range 1."""
    return _ssim_generic(pred, target, _WANG_FILTER, 1.0, False, chunk_pixels)


def _mse(x: Tensor, y: Tensor, *_: object) -> Tensor:
    return torch.linalg.vector_norm(x - y, dim=(-2, -1)).square_().div_(x.shape[-2] * x.shape[-1])


def psnr(pred: Tensor, target: Tensor, chunk_pixels: int | None = None) -> Tensor:
    """PSNR in dB with data range 1, per channel then averaged; +inf where a channel matches exactly."""
    pred, target = _prepare(pred, target, 1)
    with torch.no_grad():
        mse = _chunked(pred, target, _mse, _budget(pred, chunk_pixels))  # (..., C)
    return mse.log10_().mul_(-10.0).mean(-1)  # log10(0) = -inf -> +inf
