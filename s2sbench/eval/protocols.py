"""Best-of-N protocols: how the scores of N samples per clip become one per-frame curve, and its summary.

A protocol maps per-sample scores ``(B, S, T)`` of one metric to per-clip scores ``(B, T)``:

- ``best_per_frame`` (the paper's, ``utils3_48.py`` L276): for every frame and every metric independently, the best
  of the S samples. An oracle that may pick a different sample at each frame and for each metric.
- ``best_sequence`` (stricter, SVG/SAVP style): for every clip and metric, the one sample whose mean score over the
  predicted frames is best; its whole curve is kept.
- ``mean``: the average over the samples (the expected quality of one random sample).

"Best" follows the metric's ``higher_is_better``. ``summarize`` averages per-clip curves over clips; values of
+-inf (PSNR of an exact match) are clamped to the metric's ``cap`` first and counted in ``n_clamped``.

``PAPER`` names, once, how the paper scored: its protocol, its SSIM (a ``METRICS`` name) and the metric of its
Table 3 (block localisation). Everything that means "as the paper did" (model selection, the tables' default
reading, the paper rows next to runs, the best sample kept in ``samples.h5``) reads it from there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from s2sbench.registry import Registry

Tensor = torch.Tensor
Protocol = Callable[[Tensor, bool], Tensor]

PROTOCOLS: Registry[Protocol] = Registry("protocol")


@dataclass(frozen=True)
class Scoring:
    """How results are read: a ``PROTOCOLS`` name, a ``METRICS`` name (the SSIM variant) and Table 3's metric."""

    protocol: str
    metric: str
    block_metric: str


PAPER = Scoring(protocol="best_per_frame", metric="ssim_paper", block_metric="block_iou")


def _check(scores: Tensor) -> None:
    if scores.dim() != 3:
        raise ValueError(f"protocol input must be scores (B, S, T), got shape {tuple(scores.shape)}")


@PROTOCOLS.register("best_per_frame")
def best_per_frame(scores: Tensor, higher_is_better: bool = True) -> Tensor:
    """(B, S, T) -> (B, T): the best sample, per frame."""
    _check(scores)
    return scores.amax(1) if higher_is_better else scores.amin(1)


@PROTOCOLS.register("best_sequence")
def best_sequence(scores: Tensor, higher_is_better: bool = True) -> Tensor:
    """(B, S, T) -> (B, T): the curve of the sample with the best mean over frames (first one on ties)."""
    _check(scores)
    mean = scores.nanmean(2)  # (B, S); NaN marks frames a metric does not score (no block yet)
    pick = mean.argmax(1) if higher_is_better else mean.argmin(1)  # (B,)
    return scores[torch.arange(scores.shape[0]), pick]


@PROTOCOLS.register("mean")
def mean_over_samples(scores: Tensor, higher_is_better: bool = True) -> Tensor:
    """(B, S, T) -> (B, T): the average sample."""
    _check(scores)
    return scores.nanmean(1)


def apply(protocol: str, scores: Tensor, higher_is_better: bool = True) -> Tensor:
    return PROTOCOLS.get(protocol)(scores, higher_is_better)


def summarize(per_clip: Tensor, cap: float | None = None) -> dict:
    """Per-clip curves (N, T) -> ``curve`` (mean over clips), ``std`` (over clips), ``avg`` (mean of the curve),
    ``avg_std`` (std over clips of each clip's frame-average), ``n_clamped`` (infinite values clamped to cap) and
    ``n_clamped_curve`` (their count per frame), ``median`` (over every clip and frame). NaN values (frames a metric
    does not score) are left out of every statistic; a frame with no value at all is NaN."""
    x = per_clip.double()
    inf = torch.isinf(x)
    n_clamped = int(inf.sum())
    if cap is not None:
        x = x.clamp(-cap, cap)
    if torch.isnan(x).any():
        scored = ~torch.isnan(x).all(0)  # frames with a value
        clip_avg = x[:, scored].nanmean(1)
        return {"curve": x.nanmean(0).tolist(), "std": _nanstd(x, 0).tolist(), "avg": float(clip_avg.mean()),
                "avg_std": float(clip_avg.std(unbiased=False)), "n_clamped": n_clamped,
                "n_clamped_curve": inf.sum(0).tolist(), "median": float(x.nanmedian())}
    clip_avg = x.mean(1)
    return {"curve": x.mean(0).tolist(), "std": x.std(0, unbiased=False).tolist(), "avg": float(clip_avg.mean()),
            "avg_std": float(clip_avg.std(unbiased=False)), "n_clamped": n_clamped,
            "n_clamped_curve": inf.sum(0).tolist(), "median": float(x.median())}


def _nanstd(x: Tensor, dim: int) -> Tensor:
    m = x.nanmean(dim, keepdim=True)
    return ((x - m) ** 2).nanmean(dim).sqrt()
