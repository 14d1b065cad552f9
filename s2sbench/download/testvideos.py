"""Small synthetic videos for tests and benchmarks of the downloaders: no network, made with the real ffmpeg.

``make_test_video`` writes an MP4 (H.264 + AAC, faststart, a keyframe every ``keyint`` frames) with a moving pattern
and quiet noise; optionally a white flash frame and a 1 kHz beep starting at known times (for sync checks), or a black,
frozen or silent variant (for the rejection rules). Encoding goes through ``s2sbench.media``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from s2sbench.media import run_ffmpeg
from s2sbench.optional import require
from s2sbench.safety.files import atomic_target


def synthetic_frames(seconds: float, fps: int, width: int, height: int, seed: int = 0, kind: str = "moving",
                flash_at: float | None = None) -> np.ndarray:
    """(T, H, W, 3) uint8 frames: a drifting sinusoid pattern tinted by ``seed``; ``kind`` black/frozen variants."""
    T = int(round(seconds * fps))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    tint = np.random.default_rng(seed).uniform(0.6, 1.0, 3).astype(np.float32)
    frames = np.empty((T, height, width, 3), np.uint8)
    for i in range(T):
        k = 0 if kind == "frozen" else i
        g = (np.sin((xx + 3 * k) / 9.0) + np.cos((yy - 2 * k) / 7.0)) * 50 + 110
        frames[i] = np.clip(g[..., None] * tint, 0, 255).astype(np.uint8)
    if kind == "black":
        frames[:] = np.minimum(frames, 6)
    if flash_at is not None:
        frames[int(round(flash_at * fps))] = 255
    return frames


def synthetic_audio(seconds: float, sample_rate: int, seed: int = 0, kind: str = "moving",
               beep_at: float | None = None, beep_hz: float = 1000.0, beep_seconds: float = 0.2) -> np.ndarray:
    """Mono float32 noise at -40 dBFS (silence for ``kind='silent'``) plus an optional sine beep."""
    n = int(round(seconds * sample_rate))
    rng = np.random.default_rng(seed)
    audio = np.zeros(n, np.float32) if kind == "silent" else rng.normal(0, 0.01, n).astype(np.float32)
    if beep_at is not None:
        s0, m = int(round(beep_at * sample_rate)), int(beep_seconds * sample_rate)
        audio[s0:s0 + m] += 0.5 * np.sin(2 * np.pi * beep_hz * np.arange(m) / sample_rate).astype(np.float32)
    return audio


def make_test_video(path: str | os.PathLike, seconds: float = 6.0, fps: int = 25, width: int = 160,
                    height: int = 120, sample_rate: int = 44100, seed: int = 0, kind: str = "moving",
                    flash_at: float | None = None, beep_at: float | None = None, keyint: int = 50,
                    audio: bool = True) -> Path:
    """Write a test MP4 to ``path`` (atomically) and return the path."""
    soundfile = require("soundfile", "download")
    path = Path(path)
    frames = synthetic_frames(seconds, fps, width, height, seed, kind, flash_at)
    args = ["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:"]
    fd, wav = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        if audio:
            wave = synthetic_audio(seconds, sample_rate, seed, kind, beep_at)
            soundfile.write(wav, wave, sample_rate, subtype="PCM_16")
            args += ["-i", wav, "-c:a", "aac", "-b:a", "64k"]
        args += ["-c:v", "libx264", "-preset", "veryfast", "-g", str(keyint), "-pix_fmt", "yuv420p",
                 "-movflags", "+faststart", "-t", f"{seconds}", "-f", "mp4"]
        with atomic_target(path, suffix=".mp4") as tmp:
            run_ffmpeg(args + [str(tmp)], input=frames.tobytes(), what=str(path))
    finally:
        Path(wav).unlink(missing_ok=True)
    return path
