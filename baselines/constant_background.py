"""``constant_background``: every future frame is one constant frame, the training split's background colour.

A reference predictor, not a method: it says what a score is worth when a prediction shows no digit at all. The
colour is the per-channel median pixel of the first ``Config.clips`` training clips (computed by ``prepare`` when
the trainer runs it; nothing is trained): black (0) on M3SO and M3SO-NB, whose frames are a digit on black.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from s2sbench.data.handle import Data

from ._reference import ReferencePredictor


@dataclass
class ConstantBackgroundConfig:
    clips: int = 256  # training clips whose pixels give the median

    @classmethod
    def tiny(cls) -> "ConstantBackgroundConfig":
        return cls(clips=8)


class ConstantBackground(ReferencePredictor):
    name = "constant_background"
    Config = ConstantBackgroundConfig

    def __init__(self, spec, config: Any = None) -> None:
        super().__init__(spec, config)
        self.register_buffer("colour", torch.zeros(spec.channels))  # (C,) in [0, 1]

    def prepare(self, data: Data) -> dict[str, Any]:
        chunks = list(data.frames("train", self.config.clips))
        pixels = np.concatenate([c.reshape(-1, c.shape[-1]) for c in chunks])  # (pixels, C) uint8
        self.colour.copy_(torch.from_numpy(np.median(pixels, 0)).float() / 255.0)
        return {"colour": [round(v, 6) for v in self.colour.tolist()], "clips": sum(len(c) for c in chunks)}

    @torch.no_grad()
    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        B, _, C, H, W = context.shape
        frame = self.colour.to(context)[:, None, None].expand(C, H, W)
        return frame.expand(B, n_samples, n_future, C, H, W).clone()
