"""``mean_frame``: the future frame at index t is the mean of every training clip's frame t.

A reference predictor, not a method: the best constant guess per frame index under MSE, so it scores what a model
gets from the data's statistics alone (where the digit tends to be, where the block tends to appear), without
seeing the clip. ``prepare`` computes the means over the first ``Config.clips`` training clips (0: all) at their
full length when the trainer runs it; nothing is trained. They are a buffer of the checkpoint.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from s2sbench.data.handle import Data

from ._reference import ReferencePredictor


@dataclass
class MeanFrameConfig:
    clips: int = 0  # training clips averaged (0: the whole split)

    @classmethod
    def tiny(cls) -> "MeanFrameConfig":
        return cls(clips=8)


class MeanFrame(ReferencePredictor):
    name = "mean_frame"
    Config = MeanFrameConfig

    def __init__(self, spec, config: Any = None) -> None:
        super().__init__(spec, config)
        self.register_buffer("mean", torch.zeros(0, spec.channels, spec.height, spec.width))  # (T, C, H, W)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        key = prefix + "mean"
        if key in state_dict:  # the clip length is the data's, not the DataSpec's: take the stored shape
            self.mean = torch.empty_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def prepare(self, data: Data) -> dict[str, Any]:
        total, n = None, 0
        for chunk in data.frames("train", self.config.clips or None):  # (n, T, H, W, C) uint8
            s = chunk.sum(0, dtype=np.uint64)
            total = s if total is None else total + s
            n += len(chunk)
        mean = torch.from_numpy(total.astype(np.float64) / (255.0 * n)).float().permute(0, 3, 1, 2)
        self.mean = mean.contiguous().to(self.mean.device)
        return {"clips": n, "frames": int(mean.shape[0])}

    @torch.no_grad()
    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        if not len(self.mean):
            raise RuntimeError(f"{self.name}: no mean frames (prepare() has not run on a training split)")
        P = context.shape[1]
        idx = torch.arange(P, P + n_future).clamp(max=len(self.mean) - 1)  # past the stored length: the last one
        frames = self.mean[idx].to(context)  # (n_future, C, H, W)
        return frames.expand(context.shape[0], n_samples, *frames.shape).clone()
