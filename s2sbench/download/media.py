"""Reading downloaded media: probing a file or URL (``probe``), its frame timeline (``timeline``), and decoding a
time range of a video into frames and audio (``decode_clip``). ffmpeg itself is run through ``s2sbench.media``, so
every ffmpeg error is a ``MediaError`` with ffmpeg's own message.
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

# write_video is re-exported only for eval/evaluate.py, until it imports it from s2sbench.media
from s2sbench.media import MediaError, ffmpeg_exe, run_ffmpeg, write_video  # noqa: F401


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
