"""``copy_last``: repeats the last seen frame. A reference predictor and the harness's own end-to-end subject.

It has no parameters to learn (``trainable = False``: the trainer runs no steps); ``training_step`` only reports
the error it would make on a batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from s2sbench.data.loader import Batch

from ._reference import ReferencePredictor


@dataclass
class CopyLastConfig:
    @classmethod
    def tiny(cls) -> "CopyLastConfig":
        return cls()


class CopyLast(ReferencePredictor):
    name = "copy_last"
    uses_audio = False
    stochastic = False
    Config = CopyLastConfig

    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        p = self.spec.n_past
        last = batch.video[:, p - 1 : p]  # (B, 1, C, H, W)
        return {"loss": torch.mean((batch.video[:, p:] - last) ** 2).item()}

    @torch.no_grad()
    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        last = context[:, -1]  # (B, C, H, W)
        return last[:, None, None].expand(-1, n_samples, n_future, -1, -1, -1).clone()  # (B, S, n_future, C, H, W)
