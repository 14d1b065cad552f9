"""The validation scores the trainer selects checkpoints on (the runner hands ``val_scores`` to ``fit``).

Every score is lower-is-better and computed over ``model.val_samples`` samples per clip (one for deterministic
models) under the paper's protocol (``s2sbench.eval.protocols.PAPER``: the best sample per frame), averaged over
frames and clips. ``val_scores`` returns them in order of preference: ``train.select_on = "auto"`` (the default)
selects on the first one.

- ``val_<metric>`` for every registered ground-truth metric with ``selects > 0`` whose ``applies(meta)`` holds for
  the validation clips (M3SO, M3SO-NB: the digit's position and appearance, ``s2sbench.eval.truth_metrics``), in
  the order of ``selects``: ``digit_err`` (px, capped at the metric's cap where no plausible digit is drawn),
  ``1 - digit_hit``, ``1 - fg_ssim``. A blank, mean-like or blurred frame draws no plausible digit and scores the
  cap, so it cannot be selected over a model that places the digit; ``digit_err`` is first because it is graded (it
  ranks checkpoints that all miss the 3 px hit radius by how far they are off).
- ``val_ssim_loss``: 1 - the paper's metric. Under it a nearly blank frame outranks a sharp digit 5 px off (the
  black background is most of an M3SO frame), so it selects early, blank checkpoints there; it is the choice only
  where no ground-truth metric applies. (An SSIM skill over the reference predictors on the same fixed clips is an
  affine function of it and ranks checkpoints identically, so it is not a separate score.)
- ``val_mse``: the MSE of the first sample; it favours blurred, mean-like predictions.
"""
from __future__ import annotations

import torch

from s2sbench.data.loader import Batch
from s2sbench.eval.evaluate import batch_truth
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PAPER, apply
from s2sbench.predictor import VideoPredictor


def truth_keys(meta: dict) -> list[str]:
    """The registered metrics that select checkpoints (``Metric.selects``) and apply to a clip with this ``meta``,
    in order of preference."""
    chosen = [n for n in METRICS.ordered() if METRICS.get(n).selects > 0 and METRICS.get(n).applies(meta)]
    return sorted(chosen, key=lambda n: METRICS.get(n).selects)


@torch.no_grad()
def val_scores(model: VideoPredictor, batch: Batch) -> dict[str, float]:
    """Model-selection scores of ``model`` on one validation batch, in order of preference (module docstring)."""
    p = model.spec.n_past
    target = batch.video[:, p:]  # (B, n_future, C, H, W)
    k = model.val_samples if model.stochastic else 1
    pred = model.sample(batch.video[:, :p], batch.audio, target.shape[1], k).float().clamp(0, 1)  # (B, k, F, ...)
    out: dict[str, float] = {}
    names = truth_keys(batch.meta[0]) if batch.meta else []
    truth = batch_truth(batch.meta, p, batch.video.shape[1]) if names else None
    for name in names:
        m = METRICS.get(name)
        v = apply(PAPER.protocol, m.per_frame(pred, target, truth), m.higher_is_better)  # (B, F)
        if m.cap is not None:
            v = v.clamp(max=m.cap)
        out[f"val_{name}"] = (1.0 - v.mean().item()) if m.higher_is_better else v.mean().item()
    metric = METRICS.get(PAPER.metric)
    score = apply(PAPER.protocol, metric.per_frame(pred, target), metric.higher_is_better)  # (B, F)
    out["val_ssim_loss"] = 1.0 - score.mean().item()
    out["val_mse"] = torch.mean((pred[:, 0] - target) ** 2).item()
    return out
