"""Real recordings muxed the ways YouTube serves them, each with a sync marker, for tests and benchmarks.

Sources, installed offline from Debian (``scripts/system-deps.sh``): ``opencv-doc``'s ``box.mp4`` (15 s of hand-held
camera footage with its own sound) and ``hydrogen-data``'s GMRockKit ``Snare-Hardest.wav`` (a recorded snare hit).
``build(combo, www, markers)`` writes one served video: the footage (looped to ``seconds``), scaled to the combo's
size and frame rate, and its sound at -34 dB under the snare; at each marker time one white frame is drawn over the
footage and the snare's attack is mixed in at the same instant. Layouts: ``mp4`` (H.264 + AAC, faststart), ``webm``
(VP9 + Opus), and ``dash-mp4`` / ``dash-webm``: a video-only and an audio-only file behind a DASH manifest, which
yt-dlp selects as ``bv+ba`` and merges into Matroska, as it does YouTube's formats.
"""
from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from s2sbench.media import run_ffmpeg

FOOTAGE = Path("/usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz")
SNARE = Path("/usr/share/hydrogen/data/drumkits/GMRockKit/Snare-Hardest.wav")
NTSC = 30000 / 1001


@dataclass(frozen=True)
class Combo:
    """One way of serving a video: container layout, frame rate (``vfr``: 30 fps, then 15 fps, every 2 s), keyframe
    interval (s), frame size (w, h) and audio rate."""

    name: str
    layout: str  # mp4 | webm | dash-mp4 | dash-webm
    fps: float | str
    keyint: float
    size: tuple[int, int]
    rate: int
    seconds: float = 20.0

    @property
    def frame(self) -> float:
        """The source frame interval (the shortest one for ``vfr``)."""
        return 1 / 30 if self.fps == "vfr" else 1 / float(self.fps)

    def on_frame(self, t: float) -> float:
        """The frame time nearest ``t`` (markers sit on frames; ``vfr`` markers in the 30 fps stretches)."""
        return round(t / self.frame) * self.frame


COMBOS = (
    Combo("mp4_h264_aac", "mp4", NTSC, 2.0, (160, 120), 44100),
    Combo("webm_vp9_opus", "webm", 25, 4.0, (160, 90), 48000),
    Combo("dash_h264_aac_60fps", "dash-mp4", 60, 3.0, (160, 90), 44100),
    Combo("dash_vp9_opus_portrait", "dash-webm", NTSC, 8.0, (90, 160), 48000),
    Combo("mp4_vfr_portrait", "mp4", "vfr", 5.0, (72, 128), 48000),
)


def missing() -> str:
    """Why the real recordings cannot be used here ('' when they can)."""
    gone = [str(p) for p in (FOOTAGE, SNARE) if not p.exists()]
    return f"not installed: {', '.join(gone)} (run scripts/system-deps.sh)" if gone else ""


def _decode_audio(src: Path, rate: int, seconds: float, loop: bool) -> np.ndarray:
    args = (["-stream_loop", "-1"] if loop else []) + ["-i", str(src), "-vn", "-ac", "1", "-ar", str(rate)]
    raw = run_ffmpeg(args + (["-t", f"{seconds}"] if loop else []) + ["-f", "f32le", "pipe:1"], what=str(src))
    return np.frombuffer(raw, np.float32).copy()


def soundtrack(footage: Path, combo: Combo, markers: list[float]) -> np.ndarray:
    """(n, 2) float32: the footage's own sound at -34 dB, the snare's attack at each marker; unequal channels."""
    bed = _decode_audio(footage, combo.rate, combo.seconds, loop=True)
    bed = np.pad(bed, (0, max(0, int(combo.seconds * combo.rate) - bed.size)))[: int(combo.seconds * combo.rate)]
    bed *= 0.02 / max(1e-6, float(np.abs(bed).max()))
    hit = _decode_audio(SNARE, combo.rate, 0, loop=False)
    attack = int(np.argmax(np.abs(hit) > 0.1 * np.abs(hit).max()))
    hit = 0.8 * hit[attack:] / np.abs(hit).max()
    for m in markers:
        i = int(round(m * combo.rate))
        n = min(hit.size, bed.size - i)
        bed[i:i + n] += hit[:n]
    return np.stack([bed, 0.9 * bed], axis=1).astype(np.float32)


def _video_filter(combo: Combo, markers: list[float]) -> str:
    w, h = combo.size
    rate = "30" if combo.fps == "vfr" else f"{float(combo.fps):.6f}"
    flash = "+".join(f"between(t,{m - combo.frame / 2:.6f},{m + combo.frame / 2:.6f})" for m in markers)
    vf = (f"fps={rate},scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1,"
          f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{flash}'")
    if combo.fps == "vfr":  # every second frame dropped in alternate 2 s stretches
        vf += ",select='lt(mod(t\\,4)\\,2)+not(mod(n\\,2))'"
    return vf


def _codecs(combo: Combo) -> tuple[list[str], list[str], str]:
    k = int(round(combo.keyint / combo.frame))
    if combo.layout in ("mp4", "dash-mp4"):
        v = ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(k), "-keyint_min", str(k), "-sc_threshold", "0",
             "-pix_fmt", "yuv420p"]
        return v, ["-c:a", "aac", "-b:a", "96k"], "mp4"
    v = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "0", "-g", str(k),
         "-keyint_min", str(k), "-b:v", "200k", "-pix_fmt", "yuv420p"]
    return v, ["-c:a", "libopus", "-b:a", "64k"], "webm"


def build(combo: Combo, www: str | os.PathLike, markers: list[float], scratch: str | os.PathLike) -> str:
    """Write ``combo`` into ``www`` with flashes and hits at ``markers`` (seconds); return the name to serve."""
    import soundfile

    www, scratch = Path(www), Path(scratch)
    footage = scratch / "box.mp4"
    if not footage.exists():
        with gzip.open(FOOTAGE) as src, open(footage.with_suffix(".part"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(footage.with_suffix(".part"), footage)
    wav = scratch / f"{combo.name}.wav"
    soundfile.write(wav, soundtrack(footage, combo, markers), combo.rate, subtype="PCM_16")
    vcodec, acodec, ext = _codecs(combo)
    vin = ["-stream_loop", "-1", "-i", str(footage), "-i", str(wav), "-t", f"{combo.seconds}"]
    vmode = ["-fps_mode", "vfr"] if combo.fps == "vfr" else []
    video = ["-map", "0:v:0", "-vf", _video_filter(combo, markers), *vmode, *vcodec]
    audio = ["-map", "1:a:0", *acodec, "-ar", str(combo.rate), "-ac", "2"]
    name = combo.name
    if not combo.layout.startswith("dash"):
        run_ffmpeg(["-y", *vin, *video, *audio, "-movflags", "+faststart", str(www / f"{name}.{ext}")], what=name)
        return f"{name}.{ext}"
    aext = "m4a" if ext == "mp4" else "webm"
    run_ffmpeg(["-y", *vin, *video, "-an", "-movflags", "+faststart", "-f", ext, str(www / f"{name}.video.{ext}"),
                *audio, "-vn", "-movflags", "+faststart", "-f", ext, str(www / f"{name}.audio.{aext}")], what=name)
    (www / f"{name}.mpd").write_text(_mpd(combo, f"{name}.video.{ext}", f"{name}.audio.{aext}"))
    return f"{name}.mpd"


def _mpd(combo: Combo, video: str, audio: str) -> str:
    """A static on-demand DASH manifest: one unfragmented file per stream, as YouTube's DASH formats are."""
    w, h = combo.size
    vc, ac, mime = ("avc1.42c00d", "mp4a.40.2", "mp4") if combo.layout == "dash-mp4" else ("vp9", "opus", "webm")
    fps = 30 if combo.fps == "vfr" else round(float(combo.fps))
    return (f'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
            f'mediaPresentationDuration="PT{combo.seconds:.3f}S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">'
            f'<Period><AdaptationSet mimeType="video/{mime}"><Representation id="v" codecs="{vc}" width="{w}" '
            f'height="{h}" frameRate="{fps}" bandwidth="200000"><BaseURL>{video}</BaseURL></Representation>'
            f'</AdaptationSet><AdaptationSet mimeType="audio/{mime}"><Representation id="a" codecs="{ac}" '
            f'audioSamplingRate="{combo.rate}" bandwidth="96000"><BaseURL>{audio}</BaseURL></Representation>'
            f'</AdaptationSet></Period></MPD>\n')


def flash_frame(frames: np.ndarray, level: float = 235.0) -> int | None:
    """Index of the first (nearly) white frame of a decoded clip, or None."""
    bright = frames.reshape(len(frames), -1).mean(axis=1) > level
    return int(np.argmax(bright)) if bright.any() else None


def onset_frame(audio: np.ndarray, samples_per_frame: float, level: float = 0.2) -> float | None:
    """The first sample louder than ``level``, in (fractional) video frames, or None."""
    loud = np.abs(audio) > level
    return float(np.argmax(loud)) / samples_per_frame if loud.any() else None


CLIPS = ((3.4, 1.5), (11.7, 0.8))  # (clip start, marker offset into the clip), seconds: one marker per clip


def markers(combo: Combo) -> list[tuple[float, float]]:
    """(clip start, marker time on a source frame) for each clip cut from ``combo`` in the tests."""
    return [(s, combo.on_frame(s + d)) for s, d in CLIPS]
