"""``Data``: one dataset, opened once and handed down; the only way the trainer, the evaluator and the reference
predictors reach clips.

The runner opens a dataset with ``s2sbench.data.resolve.open_data`` (provenance and the shards of the splits it
reads verified; ``Data.open(root, dataset)`` opens one unchecked); the handle holds the directory, the dataset's
entry in the dataset table (``info``: spec, protocol, report frames), the loaded ``index.json`` (``index``) and its
digest (what a result records as ``data_sha256``). Every reader below takes it:

- ``clips(split, num_frames, audio_feature)``: the split as a ``ClipDataset`` built from the loaded index (its
  ``Batch`` es carry each clip's ``meta``, so evaluation never goes back to the shards for it);
- ``frames(split, max_clips)``: raw uint8 frame chunks of a split, for statistics (the reference predictors).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from s2sbench.data.clip import ClipSpec
from s2sbench.data.datasets import DATASETS, DatasetInfo
from s2sbench.data.loader import ClipDataset
from s2sbench.data.shards import ShardIndex, open_shard

VAL_SPLITS = ("val", "valid", "validation")  # names a validation split goes by, first found wins
CHUNK = 250  # clips read at once by ``frames`` (70 x 48 x 48 bytes each: ~40 MB)


@dataclass(frozen=True)
class Data:
    """An opened dataset: ``root``, its ``info`` (dataset table entry), ``index`` (loaded once) and ``digest``."""

    root: Path
    info: DatasetInfo
    index: ShardIndex
    digest: str

    @classmethod
    def open(cls, root: str | os.PathLike, dataset: str) -> "Data":
        """Load ``root``'s index as registered dataset ``dataset``, unchecked (``open_data`` is the checked way)."""
        index = ShardIndex.load(root)
        return cls(Path(root), DATASETS.get(dataset), index, index.digest())

    @property
    def spec(self) -> ClipSpec:
        return self.index.spec

    @property
    def name(self) -> str:
        return self.info.name

    def splits(self) -> dict[str, int]:
        """Split name -> clip count."""
        return self.index.splits()

    def val_split(self) -> str | None:
        """The name of the validation split, if the dataset has one."""
        return next((s for s in VAL_SPLITS if s in self.splits()), None)

    def clips(self, split: str, num_frames: int | None = None, audio_feature: str = "stft") -> ClipDataset:
        """The clips of ``split``, cut to their first ``num_frames`` frames, with per-frame ``audio_feature``."""
        return ClipDataset(self.root, split, num_frames=num_frames, audio_features=audio_feature, index=self.index)

    def frames(self, split: str = "train", max_clips: int | None = None) -> Iterator[np.ndarray]:
        """Chunks (n, T, H, W, C) uint8 of the clips of ``split``, in order, at most ``max_clips`` clips."""
        left = max_clips
        for rec in self.index.shards_of(split):
            with open_shard(self.root / rec.file, rec.bytes) as f:
                frames = f["frames"]
                for a in range(0, rec.n, CHUNK):
                    b = min(a + CHUNK, rec.n) if left is None else min(a + CHUNK, rec.n, a + left)
                    if b <= a:
                        return
                    yield frames[a:b]
                    if left is not None:
                        left -= b - a
