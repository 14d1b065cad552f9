"""Benchmark of the downloaders' local part (decode, cut, resize, resample, check, stage, write shards), per container.

For each container YouTube serves (``s2sbench/download/realmedia.py``: real footage and sound, MP4 H.264 + AAC, WebM
VP9 + Opus, DASH video + audio merged into MKV as yt-dlp does, a variable frame rate), videos are made at the size
the format choice fetches (<= 360 px on the short side, <= 30 fps: 640x360, portrait 360x640) and, for comparison,
one at 1280x720 60 fps (what the choice avoids). They are placed in ``DIR/raw`` as if already fetched, so
``run_download`` does no network work; it runs with 1 worker. The reference, measured in the same run on the same
files, is a naive sequential script: per clip, one ffmpeg CLI call cuts and re-encodes the clip to MP4, a second
decodes its frames, a third its audio to WAV, then all clips are written to one shard. CPU time includes ffmpeg's.

    PYTHONPATH=.:tests python benchmarks/bench_download.py [--videos 2] [--clips-per-video 3]
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
from s2sbench.download import realmedia
from s2sbench.download.fetch import FetchConfig
from s2sbench.download.pipeline import DownloadConfig, VideoJob, run_download
from s2sbench.download.realmedia import COMBOS, Combo
from s2sbench.media import run_ffmpeg

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
        shutil.copy(v, raw / f"video{v.suffix}")
        url = f"file://{v}"
        (raw / "fetch.json").write_text(json.dumps({"url": url, "windows": None, "files": [f"video{v.suffix}"]}))
        jobs.append(VideoJob(v.stem, url, windows=None, starts=list(starts)))
    cfg = DownloadConfig(out=out, spec=SPEC, fetch=FetchConfig(sleep=0), workers=workers, progress=False,
                         split_sizes={"train": 10**6, "val": 0, "test": 0})
    res = run_download(jobs, cfg)
    assert res.index.splits()["train"] == len(videos) * len(starts), res.table()


def served_as_fetched(combo: Combo, root: Path, seed: int, seconds: float) -> Path:
    """One video of ``combo`` as yt-dlp leaves it: the file itself, or DASH video + audio merged into MKV."""
    www = root / f"www-{combo.name}-{seed}"
    www.mkdir()
    name = realmedia.build(combo, www, [1.0 + seed], root)
    out = root / f"{combo.name}-{seed}{'.mkv' if name.endswith('.mpd') else Path(name).suffix}"
    if name.endswith(".mpd"):
        parts = sorted(www.glob(f"{combo.name}.*o.*"))  # .audio.* and .video.*
        run_ffmpeg(["-y", "-i", str(parts[1]), "-i", str(parts[0]), "-map", "0:v", "-map", "1:a", "-c", "copy",
                    str(out)])
    else:
        shutil.move(www / name, out)
    return out


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
    from dataclasses import replace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--clips-per-video", type=int, default=3)
    a = ap.parse_args()
    if realmedia.missing():
        raise SystemExit(f"Error: {realmedia.missing()}")
    seconds = 3 * a.clips_per_video + 1
    starts = [0.5 + 3 * k for k in range(a.clips_per_video)]
    n = a.videos * a.clips_per_video
    cases = [replace(c, size=(360, 640) if c.size[0] < c.size[1] else (640, 360), seconds=seconds) for c in COMBOS]
    cases.append(replace(COMBOS[1], name="webm_vp9_opus_720p60", fps=60, size=(1280, 720), seconds=seconds))
    print(f"{n} clips per container from {a.videos} videos of real footage -> 64x64, 30 fps, 22050 Hz; 1 worker")
    print(f"{'container':24s} {'size':>9s} {'fps':>5s} {'clips/s':>8s} {'x naive':>8s} {'CPU s/clip':>11s} "
          f"{'naive':>6s} {'x naive':>8s}")
    for c in cases:
        root = Path(tempfile.mkdtemp(prefix="bench-download-"))
        try:
            videos = [served_as_fetched(c, root, i, seconds) for i in range(a.videos)]
            ref = timed(naive, videos, starts, root)
            wall, cpu = timed(ours, videos, starts, root, 1)
            fps = "vfr" if c.fps == "vfr" else f"{float(c.fps):.4g}"
            print(f"{c.name:24s} {c.size[0]:>4d}x{c.size[1]:<4d} {fps:>5s} {n / wall:8.2f} {ref[0] / wall:8.2f} "
                  f"{cpu / n:11.3f} {ref[1] / n:6.3f} {ref[1] / cpu:8.2f}")
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
