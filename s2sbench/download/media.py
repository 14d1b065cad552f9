"""The one place that talks to ffmpeg: finding the binaries, encoding previews (MP4 with audio, GIF), probing media
and decoding a time range of a downloaded video into frames and audio (``decode_clip``), so that every ffmpeg call and
every ffmpeg error message passes through this module. Plain ``subprocess`` argument lists (no ffmpeg-python).
Errors surface as ``MediaError`` with ffmpeg's own message.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from s2sbench.optional import require
from s2sbench.safety.files import atomic_target


class MediaError(RuntimeError):
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
        raise ValueError(f"{path}: unsupported video format {suffix!r} (use .mp4 or .gif)")
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


def ffprobe_exe() -> str:
    """``$S2SBENCH_FFPROBE``, else the ``ffprobe`` next to ffmpeg, else ``ffprobe`` on PATH."""
    exe = os.environ.get("S2SBENCH_FFPROBE")
    if exe:
        return exe
    sibling = Path(ffmpeg_exe()).with_name("ffprobe")
    if sibling.exists():
        return str(sibling)
    exe = shutil.which("ffprobe")
    if not exe:
        raise MediaError("no ffprobe found: install ffmpeg (the imageio-ffmpeg wheel has no ffprobe)")
    return exe


@dataclass(frozen=True)
class MediaInfo:
    """What ``probe`` reports about a media file: container duration (s), first video stream size, audio present."""

    duration: float | None
    width: int | None
    height: int | None
    fps: float | None
    has_video: bool
    has_audio: bool


def probe(src: str | os.PathLike, headers: dict[str, str] | None = None) -> MediaInfo:
    """Run ffprobe on a file or URL; raise ``MediaError`` with ffprobe's own message on failure."""
    args = [ffprobe_exe(), "-hide_banner", "-loglevel", "error", "-of", "json", "-show_format", "-show_streams"]
    if headers:
        args += ["-headers", "".join(f"{k}: {v}\r\n" for k, v in headers.items())]
    proc = subprocess.run([*args, str(src)], capture_output=True)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise MediaError(f"{src}: ffprobe exited with {proc.returncode}: {' | '.join(tail) or 'no message'}")
    d = json.loads(proc.stdout or b"{}")
    streams = d.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    audio = any(s.get("codec_type") == "audio" for s in streams)
    dur = d.get("format", {}).get("duration")
    fps = None
    if video and video.get("avg_frame_rate", "0/0") not in ("0/0", ""):
        num, den = video["avg_frame_rate"].split("/")
        fps = float(num) / float(den) if float(den) else None
    return MediaInfo(duration=float(dur) if dur not in (None, "N/A") else None,
                     width=int(video["width"]) if video else None, height=int(video["height"]) if video else None,
                     fps=fps, has_video=video is not None, has_audio=audio)


@dataclass(frozen=True)
class Timeline:
    """What a media file's own packet timestamps say (seconds): where ffmpeg's ``-ss 0`` lands (``origin``: the
    container start time), each stream's first and last instant, and the video frame interval (median, so a
    variable frame rate is measured rather than assumed)."""

    origin: float
    video: tuple[float, float] | None
    audio: tuple[float, float] | None
    frame: float

    @property
    def end(self) -> float:
        return max(s[1] for s in (self.video, self.audio) if s is not None)


def timeline(path: str | os.PathLike) -> Timeline:
    """Read every packet's timestamp with ffprobe (no decoding) and summarize it as a ``Timeline``."""
    args = [ffprobe_exe(), "-hide_banner", "-loglevel", "error", "-of", "json", "-show_entries",
            "format=start_time:stream=index,codec_type:stream_disposition=attached_pic:"
            "packet=stream_index,pts_time,duration_time", str(path)]
    proc = subprocess.run(args, capture_output=True)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise MediaError(f"{path}: ffprobe exited with {proc.returncode}: {' | '.join(tail) or 'no message'}")
    d = json.loads(proc.stdout or b"{}")
    kinds = {s["index"]: s["codec_type"] for s in d.get("streams", [])
             if not s.get("disposition", {}).get("attached_pic")}
    first = {k: next((i for i, t in kinds.items() if t == k), None) for k in ("video", "audio")}
    times: dict[int, list[tuple[float, float]]] = {}
    for p in d.get("packets", []):
        if p.get("pts_time") not in (None, "N/A"):
            times.setdefault(p["stream_index"], []).append((float(p["pts_time"]), float(p.get("duration_time") or 0)))

    def span(i: int | None) -> tuple[float, float] | None:
        ts = times.get(i) if i is not None else None
        return (min(t for t, _ in ts), max(t + dt for t, dt in ts)) if ts else None

    vts = sorted(t for t, _ in times.get(first["video"], [])) if first["video"] is not None else []
    gaps = np.diff(vts)
    start = d.get("format", {}).get("start_time")
    return Timeline(origin=float(start) if start not in (None, "N/A") else 0.0, video=span(first["video"]),
                    audio=span(first["audio"]), frame=float(np.median(gaps)) if gaps.size else 1 / 30)


def decode_clip(path: str | os.PathLike, start: float, fps: int, num_frames: int, size: int,
                sample_rate: int, tmp_dir: str | os.PathLike | None = None,
                origin: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode ``num_frames`` frames from time ``start`` of ``path``'s own timeline, in sync with its mono audio.

    ``start`` is a timestamp of the file (as ``timeline`` reads them); ``origin`` is the file's start time, since
    ffmpeg's ``-ss`` counts from there. One ffmpeg process: input-side ``-ss`` (frame-accurate: ffmpeg decodes from
    the previous keyframe and drops what lies before ``start``, for video and audio alike) -> ``fps`` -> scale so
    the shorter side is ``size`` (area filter) -> centre crop ``size`` x ``size``; audio resampled with soxr and
    mixed down to mono. Returns ``frames`` (n, size, size, 3) uint8 with n <= num_frames, ``audio`` (m,) float32
    and ``first``, the timestamp of the first source frame decoded (``showinfo``), for the caller to check the
    placement. Nothing is padded here. The audio goes through a ``s2s-audio-*.f32`` file in ``tmp_dir`` (the
    output's staging folder; default: the system's). Raises ``MediaError`` with ffmpeg's message.
    """
    dur = num_frames / fps + 1.0 / fps  # one spare frame of input so the last frame and audio sample are complete
    graph = (f"[0:v:0]split=2[vin][vfirst];[vfirst]trim=end_frame=1,showinfo=checksum=0,nullsink;"
             f"[vin]fps={fps}:start_time=0,"
             f"scale={size}:{size}:force_original_aspect_ratio=increase:flags=area,"
             f"crop={size}:{size},setsar=1,format=rgb24[v];"
             f"[0:a:0]aresample={sample_rate}:resampler=soxr:async=1:first_pts=0,"
             f"aformat=sample_fmts=flt:channel_layouts=mono[a]")
    fd, wav = tempfile.mkstemp(prefix="s2s-audio-", suffix=".f32", dir=tmp_dir)
    os.close(fd)
    log: list[str] = []
    try:
        # one thread per decode: the downloaders run several clips at once (--workers) and each clip is tiny
        out = run_ffmpeg(["-threads", "1", "-filter_threads", "1", "-ss", f"{start - origin:.6f}", "-t", f"{dur:.6f}",
                          "-i", str(path), "-filter_complex", graph,
                          "-map", "[v]", "-frames:v", str(num_frames), "-f", "rawvideo", "pipe:1",
                          "-map", "[a]", "-f", "f32le", "-y", wav], what=f"{path} @ {start:.3f}s", log=log)
        audio = np.fromfile(wav, dtype=np.float32)
    finally:
        Path(wav).unlink(missing_ok=True)
    shown = [float(m.group(1)) for ln in log if "showinfo" in ln and (m := re.search(r" pts_time:(\S+)", ln))]
    frames = np.frombuffer(out, dtype=np.uint8)
    frames = frames[: frames.size - frames.size % (size * size * 3)].reshape(-1, size, size, 3)
    return frames, audio[: num_frames * sample_rate // fps], start + shown[0] if shown else float("nan")
