"""The dataset table: each benchmark dataset's ``ClipSpec``, its seen/predicted protocol and where its clips come from.

This is the one place the evaluation protocol of every dataset is written down (paper §4, DESIGN.md §5):
``n_past`` seen frames, ``n_future_train`` predicted frames in training and ``n_future_test`` at test, and the
1-based frames the paper's tables report. Stored clips are longer than the training window; loaders cut them.

Each entry also names its ``source`` (a ``SOURCES`` key: synthesizer or downloader) with the source's options, and
says what the reports need: ``block`` (clips carry a surprise block, scored by block IoU and the paper's Table 3),
``table`` (the paper's table that quotes it), ``title`` and the paper's split ``sizes``. Code reads these fields and
never compares a dataset's name. Entries are kept in the order of registration (``DATASETS.ordered()``), the order
of the sections of a table. Adding a dataset: one ``DatasetInfo`` line here (plus its source, if new).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from s2sbench.data.clip import ClipSpec
from s2sbench.data.sources import SOURCES, Source
from s2sbench.registry import Registry


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    spec: ClipSpec
    n_past: int
    n_future_train: int
    n_future_test: int
    table_frames: tuple[int, ...]  # 1-based frame numbers quoted in the paper's tables
    source: str  # a SOURCES key: where the clips come from
    make_command: str  # how a user gets the data
    summary: str
    title: str  # as the paper's tables name it
    table: int  # the paper's table quoting it (1 synthetic, 2 real; Table 3 lists every dataset with a block)
    sizes: tuple[int, int, int]  # the paper's train / val / test clips
    source_options: dict = field(default_factory=dict)  # keyword options of the source (e.g. the M3SO variant)
    block: bool = False  # clips carry meta["block"] (a surprise block): block IoU, Table 3

    @property
    def source_entry(self) -> Source:
        return SOURCES.get(self.source)

    @property
    def synthetic(self) -> bool:
        """Generated locally (True) or downloaded (False), as its source says."""
        return self.source_entry.synthetic

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
    DatasetInfo("m3so-nb", ClipSpec(num_frames=25, **_M3SO_SPEC), 5, 15, 20, (6, 15, 25), "m3so",
                "s2sbench make-m3so --variant nb --n 8000",
                "moving MNIST digit with tones, no block (8000/1000/1000)", "M3SO-NB", 1, (8000, 1000, 1000),
                {"variant": "nb"}),
    DatasetInfo("m3so", ClipSpec(num_frames=70, **_M3SO_SPEC), 30, 30, 40, (31, 42, 70), "m3so",
                "s2sbench make-m3so --n 8000",
                "moving MNIST digit with tones and a surprise block from frame 42 (8000/1000/1000)", "M3SO", 1,
                (8000, 1000, 1000), {"variant": "m3so"}, block=True),
    DatasetInfo("audioset-drums", ClipSpec(**_REAL_SPEC), 15, 15, 30, (16, 30, 45), "audioset-drums",
                "s2sbench download audioset-drums --segments unbalanced_train_segments.csv --out DIR",
                "AudioSet 'Drum' segments, 3 s at 30 fps, 64x64 RGB (6000/1000/1000)", "AudioSet-Drums", 2,
                (6000, 1000, 1000)),
    DatasetInfo("youtube-painting", ClipSpec(**_REAL_SPEC), 15, 15, 30, (16, 30, 45), "youtube-painting",
                "s2sbench download youtube-painting --out DIR",
                "painting videos with brush-stroke sound, 3 s at 30 fps, 64x64 RGB (4800/500/500)", "YouTube-Painting",
                2, (4800, 500, 500)),
):
    DATASETS.register(_info.name, _info)


def from_source(source: str) -> list[DatasetInfo]:
    """The registered datasets made by ``source``, in registration order (e.g. the M3SO variants)."""
    return [d for d in map(DATASETS.get, DATASETS.ordered()) if d.source == source]
