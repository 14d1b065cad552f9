"""The ``METRICS`` registry of scorers: each ``Metric`` names its function, direction, unit, cap, version and report
column. Two scopes: a ``Metric`` scores every frame of every sample (``scope == "frame"``: curves per protocol); a
``SetMetric`` scores a set of videos against the set of real ones (``scope == "set"``: one value per run, e.g. FVD).
The image metrics (``ssim_paper``, ``ssim``, ``psnr``) are computed in ``s2sbench.eval.image_metrics`` and re-exported
here; the ground-truth metrics register from ``s2sbench.eval.truth_metrics``, the learned ones (a trained network:
``learned``, weights checked by ``check`` before any compute) from their own modules (``s2sbench.eval.__init__``).

``RETIRED`` holds metrics that are no longer computed, with how reports show them, so that results scored with
them render as they did (``block_iou_t``, a per-frame pixel IoU of the block).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from s2sbench.errors import ConfigError
from s2sbench.eval.image_metrics import psnr, ssim, ssim_paper
from s2sbench.registry import Registry

__all__ = ["METRICS", "RETIRED", "Metric", "SetMetric", "psnr", "selected", "ssim", "ssim_paper"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class Metric:
    """A registered per-frame scorer: ``fn(pred, target)`` on ``(..., C, H, W)`` returns ``(...)``.

    Evaluation computes every registered metric (unless ``eval.metrics`` restricts them) and records each one's
    ``version`` in the ``RunResult``: bump it when the definition changes. Reports read the rest: ``family`` (the
    report column, default the name; metrics of one family are variants of one measurement, shown one at a time,
    e.g. ``ssim_paper`` / ``ssim`` under ``ssim``), ``label`` (table header), ``digits`` (decimals printed).
    A ``learned`` metric runs a trained network: it is scored only when ``eval.learned_metrics`` is on or
    ``eval.metrics`` names it, and ``check()`` raises ``InputError`` when its weights are missing."""

    scope = "frame"  # not a field: the class says it (``SetMetric``: "set")

    name: str
    fn: Callable[..., Tensor] | None  # None for a RETIRED metric and a SetMetric
    higher_is_better: bool
    description: str
    unit: str = ""
    cap: float | None = None  # summaries clamp +-inf to +-cap (and count them); None: no infinities expected
    version: int = 1
    family: str = ""  # report column ("" = the name)
    label: str = ""  # table header ("" = the name)
    digits: int = 4
    truth: str = ""  # "": an image metric; "digit" / "block": needs that ground truth (``truth_metrics``)
    learned: bool = False  # a trained network scores (LPIPS, FVD): off the critical path unless asked for
    check: Callable[[], object] | None = None  # raises InputError when the metric's weights are missing
    selects: int = 0  # > 0: a ground-truth metric checkpoints are selected on where it applies (1 = first choice)

    @property
    def column(self) -> str:
        return self.family or self.name

    @property
    def title(self) -> str:
        return self.label or self.name

    def __call__(self, pred: Tensor, target: Tensor, truth=None) -> Tensor:
        return self.fn(pred, target, truth) if self.truth else self.fn(pred, target)

    def per_frame(self, pred: Tensor, target: Tensor, truth=None) -> Tensor:
        """``pred`` (B, S, T, C, H, W) against ``target`` (B, T, C, H, W) -> scores (B, S, T); ``truth`` (a
        ``truth_metrics.Truth``) for metrics that need ground truth."""
        return self(pred, target.unsqueeze(1), truth)

    def applies(self, meta: dict) -> bool:
        """Whether clips with this ``meta`` have the ground truth the metric needs."""
        return (not self.truth or (self.truth == "digit" and "positions" in meta)
                or (self.truth == "block" and bool(meta.get("block"))))

    def record(self) -> dict:
        """What a ``RunResult`` keeps of the definition (``RunResult.metrics[name]``)."""
        return {"higher_is_better": self.higher_is_better, "description": self.description, "unit": self.unit,
                "cap": self.cap, "version": self.version}


@dataclass(frozen=True)
class SetMetric(Metric):
    """A registered per-set scorer: ``embed`` maps uint8 videos (N, T, H, W, C) to features (N, D), ``compare`` maps
    the real and the generated features to ``(value, record)`` (``record``: what a reader needs to judge the value,
    kept in ``RunResult.set_scores``). Evaluation streams ``embed`` batch by batch (memory N x D, not N videos) and
    caches the real videos' features under ``identity()`` (what they depend on besides the videos, e.g. the
    network's weights). ``metric(real, fake)`` on two sets of uint8 videos is ``compare(embed(real), embed(fake))``."""

    scope = "set"
    embed: Callable[[np.ndarray], np.ndarray] | None = None
    compare: Callable[[np.ndarray, np.ndarray], tuple[float, dict]] | None = None
    identity: Callable[[], str] = lambda: ""

    def __call__(self, real: np.ndarray, fake: np.ndarray) -> tuple[float, dict]:
        return self.compare(self.embed(real), self.embed(fake))

    def per_frame(self, *args, **kwargs):
        raise TypeError(f"{self.name} scores sets of videos, not frames (SetMetric)")

    def record(self) -> dict:
        return {**super().record(), "scope": self.scope}


def selected(names: tuple[str, ...] = (), learned: bool = False) -> list[str]:
    """``names`` (``eval.metrics``), or every registered metric, the learned ones only with ``learned``
    (``eval.learned_metrics``); names written ``-NAME`` leave NAME out of that default instead (``-lpips``: every
    one but LPIPS, e.g. offline without its weights); checked: the names, at least one per-frame metric (it picks
    the best sample that ``samples.h5`` keeps), and the learned metrics' weights (``Metric.check``: one
    ``InputError``)."""
    drop = [m[1:] for m in names if m.startswith("-")]
    if drop and len(drop) < len(names):
        raise ConfigError(f"eval.metrics={','.join(names)}: either name the metrics or leave some out with -NAME, "
                          "not both")
    unknown = [m for m in (drop or names) if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric {unknown}; known: {METRICS.keys()}")
    if drop or not names:
        names = [m for m in METRICS.ordered() if m not in drop and (learned or not METRICS.get(m).learned)]
    if all(METRICS.get(m).scope == "set" for m in names):
        raise ConfigError(f"eval.metrics={','.join(names)}: name at least one per-frame metric too (it picks the "
                          "best sample that samples.h5 keeps), e.g. eval.metrics=ssim_paper," + ",".join(names))
    for m in names:
        if METRICS.get(m).check is not None:
            METRICS.get(m).check()
    return names


METRICS: Registry[Metric] = Registry("metric")  # registration order = report column order
RETIRED: Registry[Metric] = Registry("retired metric")  # not computed any more; shown after the registered ones
for _m in (
    Metric("ssim_paper", ssim_paper, True, "SSIM as in the paper: skimage-0.15 float defaults (7x7 uniform window, "
           "sample covariance, data range 2), per channel", family="ssim", label="SSIM"),
    Metric("ssim", ssim, True, "standard SSIM (Wang 2004): Gaussian sigma 1.5 11x11, data range 1, per channel",
           family="ssim", label="SSIM"),
    Metric("psnr", psnr, True, "PSNR, data range 1, per channel; identical frames = +inf, clamped to 100 dB in "
           "summaries", unit="dB", cap=100.0, label="PSNR", digits=2),
):
    METRICS.register(_m.name, _m)
