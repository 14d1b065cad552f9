"""The validation score the trainer selects checkpoints on (the runner hands ``val_scores`` to ``fit``).

Both scores are lower-is-better:

- ``val_ssim_loss`` (the trainer's default ``select_on``): 1 - the paper's metric under the paper's protocol
  (``s2sbench.eval.protocols.PAPER``), over ``model.val_samples`` samples per clip (one for deterministic models),
  averaged over frames and clips;
- ``val_mse``: the MSE of the first sample. Selecting on it favours blurred, mean-like predictions, which the SSIM
  of the tables punishes (a grey background costs far more SSIM than a misplaced sharp digit).
"""
from __future__ import annotations

import torch

from s2sbench.data.loader import Batch
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PAPER, apply
from s2sbench.predictor import VideoPredictor


@torch.no_grad()
def val_scores(model: VideoPredictor, batch: Batch) -> dict[str, float]:
    """Model-selection scores of ``model`` on one validation batch (see the module docstring)."""
    p = model.spec.n_past
    target = batch.video[:, p:]  # (B, n_future, C, H, W)
    k = model.val_samples if model.stochastic else 1
    pred = model.sample(batch.video[:, :p], batch.audio, target.shape[1], k).float().clamp(0, 1)  # (B, k, F, ...)
    metric = METRICS.get(PAPER.metric)
    score = apply(PAPER.protocol, metric.per_frame(pred, target), metric.higher_is_better)  # (B, F)
    return {"val_ssim_loss": 1.0 - score.mean().item(), "val_mse": torch.mean((pred[:, 0] - target) ** 2).item()}
