"""The dataset table: each benchmark dataset's ``ClipSpec``, its seen/predicted protocol and where its clips come from.

This is the one place the evaluation protocol of every dataset is written down (paper §4, DESIGN.md §5):
``n_past`` seen frames, ``n_future_train`` predicted frames in training and ``n_future_test`` at test, and the
1-based frames the paper's tables report. Stored clips are longer than the training window; loaders cut them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from s2sbench.data.clip import ClipSpec
from s2sbench.registry import Registry


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    spec: ClipSpec
    n_past: int
    n_future_train: int
    n_future_test: int
    table_frames: tuple[int, ...]  # 1-based frame numbers quoted in the paper's tables
    synthetic: bool  # generated locally (True) or downloaded (False)
    make_command: str  # how a user gets the data
    summary: str

    @property
    def train_frames(self) -> int:
        return self.n_past + self.n_future_train

    @property
    def test_frames(self) -> int:
        return self.n_past + self.n_future_test

    def default_dir(self) -> Path:
        """``$S2SBENCH_DATA/<name>`` (default ``./data/<name>``)."""
        return Path(os.environ.get("S2SBENCH_DATA", "data")) / self.name


DATASETS: Registry[DatasetInfo] = Registry("dataset")

_M3SO_SPEC = dict(fps=10, sample_rate=4400, height=48, width=48, channels=1)
_REAL_SPEC = dict(fps=30, sample_rate=22050, num_frames=90, height=64, width=64, channels=3)

for _info in (
    DatasetInfo("m3so-nb", ClipSpec(num_frames=25, **_M3SO_SPEC), 5, 15, 20, (6, 15, 25), True,
                "s2sbench make-m3so --variant nb --n 8000",
                "moving MNIST digit with tones, no block (8000/1000/1000)"),
    DatasetInfo("m3so", ClipSpec(num_frames=70, **_M3SO_SPEC), 30, 30, 40, (31, 42, 70), True,
                "s2sbench make-m3so --n 8000",
                "moving MNIST digit with tones and a surprise block from frame 42 (8000/1000/1000)"),
    DatasetInfo("audioset-drums", ClipSpec(**_REAL_SPEC), 15, 15, 30, (16, 30, 45), False,
                "s2sbench download audioset-drums --segments unbalanced_train_segments.csv --out DIR",
                "AudioSet 'Drum' segments, 3 s at 30 fps, 64x64 RGB (6000/1000/1000)"),
    DatasetInfo("youtube-painting", ClipSpec(**_REAL_SPEC), 15, 15, 30, (16, 30, 45), False,
                "s2sbench download youtube-painting --out DIR",
                "painting videos with brush-stroke sound, 3 s at 30 fps, 64x64 RGB (4800/500/500)"),
):
    DATASETS.register(_info.name, _info)
