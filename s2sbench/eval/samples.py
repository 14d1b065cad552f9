"""``RUN_DIR/samples.h5``: the best generated sample of the first clips of a run (a contract: the human study reads it).

Layout (all written at once, to a temporary name, then renamed):

- ``ids`` (N,) UTF-8 strings: clip ids;
- ``index`` (N,) int64: dataset indices into the evaluated split;
- ``frames`` (N, n_future, H, W, C) uint8: per clip, the sample with the best mean paper SSIM (``PAPER.metric``)
  over the predicted frames (``round(x * 255)``);
- attributes ``model``, ``dataset``, ``split``, ``n_past``, ``n_future``, ``data_root``.
"""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch

from s2sbench.safety.files import atomic_target


class SampleWriter:
    """Collects up to ``limit`` clips' best samples in memory; ``save`` writes them atomically."""

    def __init__(self, model: str, dataset: str, split: str, n_past: int, n_future: int, data_root: str,
                 limit: int) -> None:
        self.attrs = {"model": model, "dataset": dataset, "split": split, "n_past": n_past, "n_future": n_future,
                      "data_root": data_root}
        self.limit = limit
        self.ids: list[str] = []
        self.index: list[int] = []
        self.frames: list[np.ndarray] = []

    def add(self, ids: list[str], index: list[int], frames: torch.Tensor) -> None:
        """``frames`` (B, n_future, C, H, W) float in [0, 1]."""
        k = max(0, min(len(ids), self.limit - len(self.ids)))
        if k == 0:
            return
        u8 = (frames[:k].clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy()
        self.ids += list(ids[:k])
        self.index += [int(i) for i in index[:k]]
        self.frames += list(u8)

    def save(self, path: str | os.PathLike) -> Path | None:
        if not self.ids:
            return None
        path = Path(path)
        with atomic_target(path) as tmp, h5py.File(tmp, "w") as f:
            f.create_dataset("ids", data=np.array(self.ids, dtype=object), dtype=h5py.string_dtype("utf-8"))
            f.create_dataset("index", data=np.array(self.index, dtype=np.int64))
            f.create_dataset("frames", data=np.stack(self.frames), compression="gzip",
                             chunks=(1, *self.frames[0].shape))
            for k, v in self.attrs.items():
                f.attrs[k] = v
        return path


def read_samples(path: str | os.PathLike) -> dict:
    """The contents of a ``samples.h5`` as numpy arrays plus ``attrs`` (for tests and the study)."""
    with h5py.File(path, "r") as f:
        return {"ids": [s.decode() if isinstance(s, bytes) else str(s) for s in f["ids"][:]],
                "index": f["index"][:], "frames": f["frames"][:], "attrs": dict(f.attrs)}
