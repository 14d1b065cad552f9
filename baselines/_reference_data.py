"""Frames of a dataset's training split straight from its shards, for the reference predictors' ``prepare``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

from s2sbench.data.shards import ShardIndex, open_shard

CHUNK = 250  # clips read at once (70 x 48 x 48 bytes each: ~40 MB)


def train_frames(root: str | os.PathLike, max_clips: int | None = None) -> Iterator[np.ndarray]:
    """Chunks (n, T, H, W, C) uint8 of the training split's clips, in order, at most ``max_clips`` clips."""
    root, left = Path(root), max_clips
    for rec in ShardIndex.load(root).shards_of("train"):
        with open_shard(root / rec.file, rec.bytes) as f:
            frames = f["frames"]
            for a in range(0, rec.n, CHUNK):
                b = min(a + CHUNK, rec.n) if left is None else min(a + CHUNK, rec.n, a + left)
                if b <= a:
                    return
                yield frames[a:b]
                if left is not None:
                    left -= b - a
