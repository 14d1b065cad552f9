"""``ClipDataset`` (map-style, HDF5 opened lazily once per process), the ``Batch`` it collates to, ``make_loader``.

``ClipDataset(root, split)[i]`` is a dict: ``video`` (T, C, H, W) float32 in [0, 1], ``audio`` (T, F) float32 from
the chosen audio feature (``s2sbench.data.audio``), ``index``, ``id`` and ``meta`` (the clip's metadata: digit
positions, the block, ...; only its JSON string is read). ``.clip(i)`` returns the stored ``Clip`` itself.
Batches are batch-major: ``Batch.video`` (B, T, C, H, W), ``Batch.audio`` (B, T, F), ``Batch.meta`` one dict per
clip. Inside the harness a ``ClipDataset`` comes from the opened dataset (``s2sbench.data.handle.Data.clips``),
which hands over its already loaded index.
The dataset holds only paths, so it pickles into DataLoader workers (fork or spawn); each worker opens its own
file handles on first use (h5py handles must not cross processes).
"""
from __future__ import annotations

import bisect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from s2sbench.data.audio import audio_feature
from s2sbench.data.clip import Clip
from s2sbench.data.shards import ShardError, ShardIndex, audio_from_int16, open_shard, read_clips


@dataclass
class Batch:
    """A collated batch: ``video`` (B, T, C, H, W) in [0, 1]; ``audio`` (B, T, F); ``index`` (B,); ``ids``;
    ``meta``: each clip's metadata (what the ground-truth metrics read)."""

    video: torch.Tensor
    audio: torch.Tensor
    index: torch.Tensor
    ids: list[str]
    meta: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return self.video.shape[0]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "Batch":
        return Batch(self.video.to(device, non_blocking=non_blocking), self.audio.to(device, non_blocking=non_blocking),
                     self.index, self.ids, self.meta)

    def pin_memory(self) -> "Batch":
        return Batch(self.video.pin_memory(), self.audio.pin_memory(), self.index, self.ids, self.meta)


def collate(items: list[dict[str, Any]]) -> Batch:
    return Batch(video=torch.stack([it["video"] for it in items]), audio=torch.stack([it["audio"] for it in items]),
                 index=torch.tensor([it["index"] for it in items]), ids=[it["id"] for it in items],
                 meta=[it["meta"] for it in items])


class ClipDataset(Dataset):
    """The clips of one split of a dataset directory written by ``s2sbench.data.shards``.

    ``num_frames`` keeps only the first frames of each clip (training uses shorter clips than test);
    ``audio_features`` is a name from ``s2sbench.data.audio.AUDIO_FEATURES`` (``raw``, ``stft``, ``mel``);
    ``index`` is the dataset's loaded ``index.json`` (read from ``root`` when not given).
    """

    def __init__(self, root: str | os.PathLike, split: str, *, num_frames: int | None = None,
                 audio_features: str = "stft", index: ShardIndex | None = None) -> None:
        self.root, self.split = Path(root), split
        self.index = index if index is not None else ShardIndex.load(self.root)
        self.spec = self.index.spec
        self.records = self.index.shards_of(split)
        if not self.records:
            have = ", ".join(sorted(self.index.splits())) or "none"
            raise ShardError(f"{self.root / 'index.json'}: no split {split!r} (splits: {have})")
        self.num_frames = num_frames or self.spec.num_frames
        if not 0 < self.num_frames <= self.spec.num_frames:
            raise ValueError(f"num_frames {num_frames} outside 1..{self.spec.num_frames}")
        self.feature = audio_feature(audio_features, self.spec)
        self._starts = np.cumsum([0] + [r.n for r in self.records]).tolist()
        self._handles: dict[int, Any] = {}
        self._pid = -1

    def __len__(self) -> int:
        return self._starts[-1]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handles": {}, "_pid": -1}

    def _locate(self, i: int) -> tuple[str, Any, int]:
        """(shard path, open handle, row) of clip ``i``; opens the shard once per process."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"clip index {i} out of range for {len(self)} clips in split {self.split!r}")
        i %= len(self)
        k = bisect.bisect_right(self._starts, i) - 1
        if self._pid != os.getpid():  # first use in this process: never reuse a parent's handles
            self._handles, self._pid = {}, os.getpid()
        rec = self.records[k]
        if k not in self._handles:
            self._handles[k] = open_shard(self.root / rec.file, rec.bytes)
        return str(self.root / rec.file), self._handles[k], i - self._starts[k]

    def clip(self, i: int) -> Clip:
        """The stored clip ``i`` of this split, at its full length."""
        path, f, row = self._locate(i)
        try:
            return read_clips(f, [row])[0]
        except (OSError, KeyError, ValueError) as e:
            raise ShardError(f"{path}: cannot read clip {row} ({e})") from None

    def meta(self, i: int) -> dict:
        """The metadata of clip ``i`` (its JSON string alone is read)."""
        path, f, row = self._locate(i)
        try:
            return json.loads(_text(f["meta"][row]))
        except (OSError, KeyError, ValueError) as e:
            raise ShardError(f"{path}: cannot read the meta of clip {row} ({e})") from None

    def __getitem__(self, i: int) -> dict[str, Any]:
        path, f, row = self._locate(i)
        T, spf = self.num_frames, self.spec.samples_per_frame
        try:
            frames = f["frames"][row, :T]  # (T, H, W, C) uint8
            wave = audio_from_int16(f["audio"][row, : T * spf])  # (T * spf,)
            cid, meta = f["ids"][row], json.loads(_text(f["meta"][row]))
        except (OSError, KeyError, ValueError) as e:
            raise ShardError(f"{path}: cannot read clip {row} ({e})") from None
        video = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0)  # (T, C, H, W)
        audio = torch.from_numpy(self.feature(wave.reshape(T, spf)))  # (T, F)
        return {"video": video, "audio": audio, "index": i % len(self), "id": _text(cid), "meta": meta}


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def make_loader(dataset: Dataset, batch_size: int, *, shuffle: bool = False, num_workers: int = 0,
                seed: int = 0, drop_last: bool = False, sampler: Sampler | None = None,
                pin_memory: bool = False) -> DataLoader:
    """A DataLoader that collates to ``Batch``; shuffling is seeded so runs repeat."""
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle if sampler is None else False, sampler=sampler,
                      num_workers=num_workers, collate_fn=collate, drop_last=drop_last, generator=gen,
                      pin_memory=pin_memory, persistent_workers=num_workers > 0)
