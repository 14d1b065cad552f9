"""The one place that runs ffmpeg: finding the binary, running it with its error lines turned into ``MediaError``,
and encoding frames (and audio) to MP4 or GIF (``write_video``: previews, sample videos, the study's clips). Plain
``subprocess`` argument lists (no ffmpeg-python). Download, eval and study all use it; reading downloaded media
(``probe``, ``decode_clip``) is the downloader's, in ``s2sbench.download.media``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from s2sbench.errors import ConfigError, ToolError
from s2sbench.optional import require
from s2sbench.safety.files import atomic_target


class MediaError(ToolError):
    """ffmpeg failed or is missing; the message carries ffmpeg's own last lines."""


def ffmpeg_exe() -> str:
    """``$S2SBENCH_FFMPEG``, else ``ffmpeg`` on PATH, else the binary shipped in the imageio-ffmpeg wheel."""
    exe = os.environ.get("S2SBENCH_FFMPEG") or shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise MediaError(f"no ffmpeg found: install ffmpeg or imageio-ffmpeg ({e})") from None


def run_ffmpeg(args: list[str], *, input: bytes | None = None, what: str = "ffmpeg",
               log: list[str] | None = None) -> bytes:
    """Run ffmpeg with ``args``; return stdout; raise ``MediaError`` with ffmpeg's stderr tail on failure.

    With ``log`` (a list), ffmpeg logs at info level with level tags and the lines are appended to it (for
    ``showinfo``); the error message still quotes only ffmpeg's error lines.
    """
    level = "level+info" if log is not None else "error"
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", level, *args]
    proc = subprocess.run(cmd, input=input, capture_output=True)
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    if log is not None:
        log += lines
        lines = [ln for ln in lines if "[error]" in ln or "[fatal]" in ln] or lines
    if proc.returncode != 0:
        tail = lines[-3:]
        raise MediaError(f"{what}: ffmpeg exited with {proc.returncode}: {' | '.join(tail) or 'no message'}")
    return proc.stdout


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int, audio: np.ndarray | None = None,
                sample_rate: int | None = None, scale: int = 1, audio_rate: int | None = None) -> Path:
    """Encode ``frames`` (T, H, W, C) uint8, C in {1, 3}, to ``path``: MP4 (H.264 + AAC) or GIF, by extension.

    ``scale`` enlarges frames by nearest-neighbour (small 48x48 frames are hard to see). Audio (mono float32 in
    [-1, 1]) is muxed into MP4s; ``audio_rate`` resamples it (e.g. 48000: browsers' AAC decoders expect a
    standard rate, and 4400 Hz M3SO audio otherwise becomes 7350 Hz AAC). Written to a temporary name and renamed
    when complete.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or frames.dtype != np.uint8:
        raise ValueError(f"{path}: frames must be uint8 (T, H, W, 1|3), got {frames.dtype}{frames.shape}")
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    T, H, W, _ = frames.shape
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ConfigError(f"{path}: unsupported video format {suffix!r} (use .mp4 or .gif)")
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = None
    try:
        with atomic_target(path, suffix=suffix) as tmp_path:
            tmp = str(tmp_path)
            args = ["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", str(fps), "-i", "pipe:"]
            if audio is not None and suffix == ".mp4":
                if not sample_rate:
                    raise ValueError("sample_rate is required with audio")
                soundfile = require("soundfile", "download")
                fdw, wav = tempfile.mkstemp(suffix=".wav")
                os.close(fdw)
                soundfile.write(wav, np.clip(audio, -1, 1).astype(np.float32), sample_rate, subtype="PCM_16")
                args += ["-i", wav]
            vf = f"scale={W * scale}:{H * scale}:flags=neighbor"
            if suffix == ".gif":
                args += ["-vf", f"{vf},split[a][b];[a]palettegen[p];[b][p]paletteuse", "-loop", "0", "-f", "gif", tmp]
            else:
                args += ["-vf", f"{vf},pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                         "-movflags", "+faststart"]
                if wav:
                    args += ["-c:a", "aac", "-b:a", "96k", "-shortest"]
                    args += ["-ar", str(audio_rate)] if audio_rate else []
                args += ["-f", "mp4", tmp]
            run_ffmpeg(args, input=np.ascontiguousarray(frames).tobytes(), what=str(path))
    finally:
        if wav:
            Path(wav).unlink(missing_ok=True)
    return path
