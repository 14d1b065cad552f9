"""``ReferencePredictor``: the base of the reference predictors (``copy_last``, ``constant_background``,
``mean_frame``). They are labelled as references in every table and CSV (``reference = True``) and are never
trained (``trainable = False``: the trainer runs no steps and calls ``prepare`` on the opened dataset instead)."""
from __future__ import annotations

import torch

from s2sbench.data.loader import Batch
from s2sbench.predictor import VideoPredictor


class ReferencePredictor(VideoPredictor):
    reference = True
    trainable = False

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        raise RuntimeError(f"{self.name} is not trained (trainable = False); the trainer calls prepare()")
