"""Benchmark of the downloaders' local part (decode, cut, resize, resample, check, stage, write shards).

Test videos (320x240, 25 fps, 44.1 kHz stereo-free AAC, made here with ffmpeg) are placed in ``DIR/raw`` as if already
fetched, so ``run_download`` does no network work; it is timed with 1 and 2 workers. The reference, measured in the
same run, is a naive sequential script: per clip, one ffmpeg CLI call cuts and re-encodes the clip to MP4, a second
decodes its frames, a third its audio to WAV, then all clips are written to one shard.

    PYTHONPATH=. python benchmarks/bench_download.py [--videos 6] [--clips-per-video 3]
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from s2sbench.data.clip import Clip
from s2sbench.data.datasets import DATASETS
from s2sbench.data.shards import write_shard
from s2sbench.download.fetch import FetchConfig
from s2sbench.download.media import run_ffmpeg
from s2sbench.download.pipeline import DownloadConfig, VideoJob, run_download
from s2sbench.download.testvideos import make_test_video

SPEC = DATASETS.get("audioset-drums").spec


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg, ffprobe): steadier than wall time on a busy box."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, *args) -> tuple[float, float]:
    t, c = time.perf_counter(), cpu_seconds()
    fn(*args)
    return time.perf_counter() - t, cpu_seconds() - c


def ours(videos: list[Path], starts: list[float], root: Path, workers: int) -> None:
    out = root / f"ours{workers}"
    jobs = []
    for v in videos:
        raw = out / "raw" / v.stem
        raw.mkdir(parents=True)
        shutil.copy(v, raw / "video.mp4")
        url = f"file://{v}"
        (raw / "fetch.json").write_text(json.dumps({"url": url, "windows": None, "files": ["video.mp4"]}))
        jobs.append(VideoJob(v.stem, url, windows=None, starts=list(starts)))
    cfg = DownloadConfig(out=out, spec=SPEC, fetch=FetchConfig(sleep=0), workers=workers, progress=False,
                         split_sizes={"train": 10**6, "val": 0, "test": 0})
    res = run_download(jobs, cfg)
    assert res.index.splits()["train"] == len(videos) * len(starts), res.table()


def naive(videos: list[Path], starts: list[float], root: Path) -> None:
    work = root / "naive"
    work.mkdir()
    s = SPEC
    clips = []
    for v in videos:
        for st in starts:
            cut, wav = work / "cut.mp4", work / "cut.wav"
            run_ffmpeg(["-y", "-ss", str(st), "-t", "3", "-i", str(v), "-vf",
                        f"fps={s.fps},scale={s.width}:{s.height}:force_original_aspect_ratio=increase,"
                        f"crop={s.width}:{s.height}", "-c:v", "libx264", "-c:a", "aac", str(cut)])
            raw = run_ffmpeg(["-i", str(cut), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            run_ffmpeg(["-y", "-i", str(cut), "-ac", "1", "-ar", str(s.sample_rate), str(wav)])
            frames = np.frombuffer(raw, np.uint8).reshape(-1, s.height, s.width, 3)[: s.num_frames]
            audio, _ = soundfile.read(wav, dtype="float32")
            audio = np.pad(audio, (0, max(0, s.num_samples - audio.size)))[: s.num_samples]
            if len(frames) == s.num_frames:
                clips.append(Clip(f"{v.stem}_{st}", frames.copy(), audio.astype(np.float32)))
    write_shard(work / "all.h5", s, "train", clips)
    assert len(clips) == len(videos) * len(starts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--clips-per-video", type=int, default=3)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-download-"))
    try:
        videos = [make_test_video(root / f"v{i}.mp4", seconds=3 * a.clips_per_video + 1, width=320, height=240,
                                  seed=i) for i in range(a.videos)]
        starts = [0.5 + 3 * k for k in range(a.clips_per_video)]
        n = a.videos * a.clips_per_video
        ref = timed(naive, videos, starts, root)
        runs = [("naive ffmpeg CLI per clip (reference)", ref),
                ("s2sbench, 1 worker", timed(ours, videos, starts, root, 1)),
                ("s2sbench, 2 workers", timed(ours, videos, starts, root, 2))]
        print(f"{n} clips from {a.videos} videos (320x240, 25 fps) -> 64x64, 30 fps, 22050 Hz")
        print(f"{'pipeline':38s} {'clips/s':>8s} {'x naive':>8s} {'CPU s/clip':>11s} {'x naive':>8s}")
        for name, (wall, cpu) in runs:
            print(f"{name:38s} {n / wall:8.2f} {ref[0] / wall:8.2f} {cpu / n:11.3f} {ref[1] / cpu:8.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
