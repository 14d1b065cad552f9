"""Set-level metrics (``SetMetric`` in ``METRICS``, e.g. FVD) through an evaluation, and the real videos' feature
cache.

Per batch, each metric embeds (``SetMetric.embed``) two uint8 videos per clip: the real one and the generated one,
which is the **first** of the clip's N samples (a set metric compares distributions; best-of-N would pick from the
real video). Which frames (``eval.set_frames``): ``"future"`` (default) the predicted frames alone; ``"clip"`` the
seen frames followed by the predicted ones, as the original FVD and CCVS score a prediction (the generated video
carries the real context: comparable with their numbers, but the shared context weighs in the score; the choice is
argued in ``docs/metrics-fvd-lpips.md``). Only the features are kept (N x D), so memory does not grow with the
videos.

The real videos' features depend only on the data, the frames and the metric's ``identity()`` (its network's
weights), so they are computed once and cached by clip id in
``$S2SBENCH_CACHE`` (default ``~/.cache/s2sbench``) ``/<metric>/<data digest[:16]>/<split>-fr<a>-<b>-<identity>.npz``,
written atomically; a later evaluation reuses a batch's features when every clip id of the batch is in the file.

After the last batch each metric compares the two feature sets (``SetMetric.compare``) over the whole set, and with
``eval.set_chunk`` = k also over consecutive chunks of k clips (the headline value is then the mean over the full
chunks, as CCVS reports FVD: k = 256, the full-set value beside it; a remainder shorter than k is left out of the
chunks, and fewer than 2k clips are scored as one set, which the protocol says). ``fields()`` gives
``RunResult.set_scores``: per metric its value, the compare record and the protocol (videos, frames, sample, frame
size before any resizing, the features: the record's ``features`` text, else ``identity()``) as fields and as one
line (``protocol``) that tables print under the values.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from s2sbench.errors import ConfigError
from s2sbench.eval.metrics import SetMetric

ENV_CACHE = "S2SBENCH_CACHE"
FRAMES = ("clip", "future")  # eval.set_frames


def check_options(frames: str, chunk: int) -> None:
    """``eval.set_frames`` and ``eval.set_chunk``: ``ConfigError`` naming the option."""
    if frames not in FRAMES:
        raise ConfigError(f"eval.set_frames={frames!r}: use one of {', '.join(FRAMES)}")
    if chunk < 0 or chunk == 1:
        raise ConfigError(f"eval.set_chunk={chunk}: a chunk needs at least 2 clips (0: the whole set; CCVS: 256)")


def cache_dir() -> Path:
    """Where cached features go: ``$S2SBENCH_CACHE``, else ``~/.cache/s2sbench``."""
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "s2sbench").expanduser()


class RealFeatures:
    """Features of real videos by clip id, read from and written back to one ``.npz`` (``ids``, ``features``)."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows, self.added, self.reused = path, {}, 0, 0
        try:
            with np.load(path, allow_pickle=False) as f:
                self.rows = dict(zip(f["ids"].tolist(), f["features"]))
        except (OSError, KeyError, ValueError):  # absent, or not a file of ours: recomputed and rewritten
            self.rows = {}

    def get(self, ids: list[str], compute: Callable[[], np.ndarray]) -> np.ndarray:
        if ids and all(i in self.rows for i in ids):
            self.reused += len(ids)
            return np.stack([self.rows[i] for i in ids])
        feats = np.asarray(compute())
        self.rows.update(zip(ids, feats))
        self.added += len(ids)
        return feats

    def save(self) -> None:
        if not self.added:
            return
        from s2sbench.safety.files import atomic_write_bytes

        ids = sorted(self.rows)
        buf = io.BytesIO()
        np.savez(buf, ids=np.array(ids), features=np.stack([self.rows[i] for i in ids]))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, buf.getvalue())


def _uint8(video: torch.Tensor) -> np.ndarray:
    """(B, T, C, H, W) in [0, 1] -> uint8 (B, T, H, W, C), as ``samples.h5`` stores frames."""
    return (video.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy()


class SetScores:
    """Streams the set-level ``metrics`` over an evaluation of ``split`` (``n_past`` seen, ``n_future`` predicted
    frames) of the data with index digest ``digest``; ``frames`` and ``chunk`` as ``eval.set_frames`` /
    ``eval.set_chunk``; ``n_clips`` to be evaluated (at least 2 when there are metrics)."""

    def __init__(self, metrics: dict[str, SetMetric], digest: str, split: str, n_past: int, n_future: int,
                 frames: str = "future", chunk: int = 0, n_clips: int = 2) -> None:
        if metrics and n_clips < 2:
            raise ConfigError(f"{', '.join(metrics)} compare sets of videos: evaluate at least 2 clips (eval.n_clips; "
                              f"{n_clips} to evaluate)")
        self.metrics, self.n_past, self.end, self.chunk = metrics, n_past, n_past + n_future, chunk
        self.first = 0 if frames == "clip" else n_past
        self.real: dict[str, list[np.ndarray]] = {n: [] for n in metrics}
        self.fake: dict[str, list[np.ndarray]] = {n: [] for n in metrics}
        self.cache = {n: RealFeatures(cache_dir() / n / digest[:16] /
                                      f"{split}-fr{self.first + 1}-{self.end}-{m.identity() or 'v' + str(m.version)}"
                                      ".npz") for n, m in metrics.items()}
        self.size = ""

    def add(self, video: torch.Tensor, ids: list[str], pred: torch.Tensor) -> None:
        """``video`` (B, T, C, H, W) the real clips, ``pred`` (B, S, F, C, H, W) their samples."""
        if not self.metrics:
            return
        _, _, c, h, w = video.shape
        self.size = f"{h}x{w}x{c}"
        real = _uint8(video[:, self.first:self.end])  # (B, T, H, W, C)
        fake = _uint8(torch.cat([video[:, self.first:self.n_past], pred[:, 0]], 1))  # the first sample
        for name, m in self.metrics.items():
            self.fake[name].append(np.asarray(m.embed(fake)))
            self.real[name].append(self.cache[name].get(list(ids), lambda m=m: m.embed(real)))

    def fields(self) -> dict[str, Any]:
        """``set_scores``: metric -> {value, protocol fields, the compare record}; writes the caches."""
        out = {}
        for name, m in self.metrics.items():
            self.cache[name].save()
            if not self.fake[name]:
                continue
            real, fake = np.concatenate(self.real[name]), np.concatenate(self.fake[name])
            value, record = m.compare(real, fake)
            n, seen = len(fake), self.n_past - self.first
            entry: dict[str, Any] = {
                "value": value, "full_set_value": value, "n_videos": n, "frames": [self.first + 1, self.end],
                "seen_frames": seen, "sample": "first", "size": self.size, "features": m.identity(),
                "real_features": {"reused": self.cache[name].reused, "computed": self.cache[name].added},
                "record": record}
            chunks = ""
            if self.chunk and n >= 2 * self.chunk:
                vals = [m.compare(real[i:i + self.chunk], fake[i:i + self.chunk])[0]
                        for i in range(0, n - self.chunk + 1, self.chunk)]
                entry.update(value=float(np.mean(vals)), chunk=self.chunk, chunk_values=vals,
                             chunk_std=float(np.std(vals)))
                chunks = (f"; mean over {len(vals)} chunks of {self.chunk} (std {np.std(vals):.{m.digits}f}; "
                          f"full set {value:.{m.digits}f})")
            elif self.chunk:
                chunks = f"; scored as one set: {n} clips are fewer than two chunks of {self.chunk}"
            frames = (f"frames {self.first + 1}-{self.end} ({seen} seen + {self.end - self.n_past} predicted)"
                      if seen else f"predicted frames {self.first + 1}-{self.end}")
            notes = "".join(f"; {x}" for x in record.get("notes", []))
            entry["protocol"] = (f"{n} videos per set, {frames}, the first sample of each clip, {self.size} before "
                                 f"resizing, features: {record.get('features') or m.identity()}{chunks}{notes}")
            out[name] = entry
        return out
