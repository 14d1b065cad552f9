"""What a download is asked to do: ``VideoJob`` (one video and the clips to cut from it) and ``DownloadConfig``
(where to write, the clip spec, fetch and quality rules, split sizes). The pipeline runs them; assembly reads them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from s2sbench.data.clip import ClipSpec
from s2sbench.download.fetch import FetchConfig
from s2sbench.download.quality import QualityRule


@dataclass
class VideoJob:
    """One video to fetch and the clips to cut from it.

    ``windows``: padded time windows to fetch (None: the whole video). ``starts``: clip start times in seconds of the
    source video; None means ``plan(duration)`` chooses them once the video is fetched (YouTube-Painting).
    """

    key: str
    url: str
    windows: list[tuple[float, float]] | None = None
    starts: list[float] | None = None
    plan: Callable[[float], list[float]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class DownloadConfig:
    out: Path
    spec: ClipSpec
    fetch: FetchConfig = field(default_factory=FetchConfig)
    quality: QualityRule = field(default_factory=QualityRule)
    workers: int = 4
    max_clips: int | None = None  # use only the first N listed clips (list order)
    keep: set[str] | None = None  # clip ids approved by a person; None keeps every good clip
    seed: int = 0
    split_sizes: dict[str, int] = field(default_factory=lambda: {"train": 6000, "val": 1000, "test": 1000})
    clips_per_shard: int = 128
    keep_raw: bool = True
    source: dict[str, Any] = field(default_factory=dict)  # recorded in index.json
    progress: bool = True
    shard: tuple[int, int] | None = None  # (i, n): only this host's share of the videos (s2sbench.download.merge)
    overwrite: bool = False  # a finished dataset of another plan may be replaced (s2sbench.download.merge.claim_plan)
