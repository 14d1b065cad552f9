"""Testing dummies shipped with the package: small fake datasets in the real shard format and a tiny trainable model.

- ``write_fake_dataset(root, dataset, sizes)`` writes clips with the registered dataset's ``ClipSpec``: a bright
  square moving at constant velocity on a dark background (so prediction is learnable and metrics are non-trivial),
  random audio, and for a dataset whose entry has ``block`` (M3SO) a white block from frame 42 with ``meta["block"]``
  as the generator records it.
- ``TinyPredictor`` (registered as ``testing_tiny`` on import of this module): a stochastic two-layer conv net that
  predicts each frame from the previous one and a noise channel. Config ``nan_at_step`` makes the loss NaN at that
  step (to test the trainer's NaN stop), ``fail_at_step`` raises there, ``only_rank`` limits both to one torchrun
rank, ``sgd`` trains with plain SGD.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from s2sbench.data.clip import Clip
from s2sbench.data.datasets import DATASETS
from s2sbench.data.loader import Batch
from s2sbench.data.shards import ShardIndex, ShardWriter
from s2sbench.errors import ConfigError
from s2sbench.models import MODELS, VideoPredictor

FAKE_BLOCK_FIRST = 41  # 0-based, as in M3SO


def fake_clip(spec, rng: np.random.Generator, cid: str, block: bool) -> Clip:
    T, H, W, C = spec.frame_shape
    side = max(4, H // 6)
    pos = rng.uniform(0, [W - side, H - side])
    vel = rng.uniform(-3, 3, size=2)
    frames = np.zeros((T, H, W, C), dtype=np.uint8)
    meta: dict = {"positions": []}
    box = None
    if block:
        b = H // 3
        x0, y0 = int(rng.integers(0, W - b)), int(rng.integers(0, H - b))
        box = [x0, y0, x0 + b, y0 + b]
        meta["block"] = {"box": box, "first_frame": FAKE_BLOCK_FIRST}
    for t in range(T):
        for d, lim in ((0, W - side), (1, H - side)):
            if not 0 <= pos[d] + vel[d] <= lim:
                vel[d] = -vel[d]
        pos = np.clip(pos + vel, 0, [W - side, H - side])
        x, y = (int(round(v)) for v in pos)
        frames[t, y : y + side, x : x + side] = 200
        if box is not None and t >= FAKE_BLOCK_FIRST:
            frames[t, box[1] : box[3], box[0] : box[2]] = 255
        meta["positions"].append([x, y])
    audio = rng.uniform(-0.5, 0.5, size=spec.num_samples).astype(np.float32)
    return Clip(cid, frames, audio, meta)


def write_fake_dataset(root: str | os.PathLike, dataset: str = "m3so-nb",
                       sizes: dict[str, int] | None = None, seed: int = 0, clips_per_shard: int = 64) -> ShardIndex:
    """Write a small dataset with ``dataset``'s spec under ``root`` (index.json + shards) and return its index."""
    info = DATASETS.get(dataset)
    root = Path(root)
    sizes = sizes or {"train": 32, "val": 8, "test": 8}
    records = []
    for k, (split, n) in enumerate(sizes.items()):
        rng = np.random.default_rng([seed, k])
        with ShardWriter(root, info.spec, split, clips_per_shard=clips_per_shard) as w:
            for i in range(n):
                w.write(fake_clip(info.spec, rng, f"fake/{split}/{i:06d}", block=info.block))
        records += w.records
    index = ShardIndex(info.spec, records, source={"name": "s2sbench.testing.write_fake_dataset", "dataset": dataset,
                                                   "seed": seed})
    index.save(root)
    return index


@dataclass
class TinyConfig:
    hidden: int = 8
    lr: float = 1e-2
    noise: float = 0.1
    nan_at_step: int = -1
    fail_at_step: int = -1  # raise RuntimeError at this step (tests of error propagation between ranks)
    only_rank: int = -1  # >= 0: nan_at_step / fail_at_step apply on this torchrun rank only
    sgd: bool = False  # plain SGD (the update scales with the gradient, unlike Adam's: pins gradient averaging)

    @classmethod
    def tiny(cls) -> "TinyConfig":
        return cls()


class TinyPredictor(VideoPredictor):
    name = "testing_tiny"
    uses_audio = False
    stochastic = True
    Config = TinyConfig

    def __init__(self, spec, config: TinyConfig | None = None) -> None:
        super().__init__(spec, config)
        c, ch = self.config, spec.channels
        if c.hidden < 1:  # a bad config is the user's: ConfigError, which the runner reports as one line
            raise ConfigError(f"hidden must be >= 1, got {c.hidden}")
        self.net = nn.Sequential(nn.Conv2d(ch + 1, c.hidden, 3, padding=1), nn.Tanh(),
                                 nn.Conv2d(c.hidden, ch, 3, padding=1))

    def step(self, frame: torch.Tensor) -> torch.Tensor:
        z = torch.randn_like(frame[:, :1]) * self.config.noise  # (N, 1, H, W)
        return torch.sigmoid(self.net(torch.cat([frame, z], 1)) + torch.logit(frame.clamp(1e-3, 1 - 1e-3)))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self.config.sgd:
            return {"net": torch.optim.SGD(self.parameters(), lr=self.config.lr)}
        return {"net": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def _here(self, step: int, at: int) -> bool:
        rank = int(os.environ.get("RANK", "0"))
        return step == at and self.config.only_rank in (-1, rank)

    def training_step(self, batch: Batch, opt, step: int) -> dict[str, float]:
        v = batch.video  # (B, T, C, H, W)
        B, T = v.shape[:2]
        pred = self.step(v[:, :-1].reshape(B * (T - 1), *v.shape[2:]))  # (B (T-1), C, H, W)
        loss = torch.mean((pred - v[:, 1:].reshape_as(pred)) ** 2)
        if self._here(step, self.config.nan_at_step):
            loss = loss * float("nan")
        if self._here(step, self.config.fail_at_step):
            raise RuntimeError(f"testing_tiny: failure injected at step {step} on rank {os.environ.get('RANK', 0)}")
        opt["net"].zero_grad()
        self.backward(loss)
        opt["net"].step()
        return {"loss": loss.item()}

    @torch.no_grad()
    def sample(self, context, audio, n_future: int, n_samples: int) -> torch.Tensor:
        B = context.shape[0]
        x = context[:, -1].repeat_interleave(n_samples, 0)  # (B S, C, H, W)
        out = []
        for _ in range(n_future):
            x = self.step(x)
            out.append(x)
        return torch.stack(out, 1).reshape(B, n_samples, n_future, *x.shape[1:])  # (B, S, n_future, C, H, W)


if "testing_tiny" not in MODELS:
    MODELS.register("testing_tiny", TinyPredictor)
