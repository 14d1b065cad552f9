"""Fetching one video (or padded time windows of it) with yt-dlp used as a library, politely and fault-tolerantly.

- ``fetch(job_url, raw_dir, windows, cfg, pacer)`` downloads whole videos or sections (``download_ranges`` in yt-dlp's
  default copy mode: cuts snap to the keyframe before the window start, which is why windows are padded and the
  exact cut happens later in ``s2sbench.download.media.decode_clip``). The cut keeps the source's own timestamps
  (``-copyts`` for yt-dlp's ffmpeg): MP4 could hide the snap behind an edit list, but Matroska and WebM have none, so
  without it t = 0 of a fetched window is that earlier keyframe, not the window start. Every file is checked with
  ffprobe (yt-dlp can report success for a truncated or empty file) and ``fetch.json`` is recorded beside the files,
  with the attempts it took, so a re-run reuses them without touching the network and counts the same attempts.
- Failures are classified from yt-dlp's message (``classify``): permanent (``unavailable``, ``private``) are raised at
  once; ``rate_limited`` and transient ones (5xx, connection drops, truncated files) are retried with exponential
  backoff; an ffmpeg failure is retried once and then reported as ``failed_decode`` with ffprobe's own message.
- ``Pacer`` spaces fetch starts across all workers and slows the whole session down after a rate-limit answer.
"""
from __future__ import annotations

import json
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2sbench.data.shards import atomic_write_bytes
from s2sbench.download.media import probe, timeline
from s2sbench.errors import ToolError
from s2sbench.media import MediaError, ffmpeg_exe
from s2sbench.optional import require

PERMANENT = ("unavailable", "private")

_RULES = (  # (kind, regex on yt-dlp's message), first match wins
    ("private", r"private video|video is private"),
    ("unavailable", r"video unavailable|http error (404|410)|no longer available|has been removed|been terminated"
                    r"|copyright|not available in your country|geo.?restrict|unsupported url"
                    r"|sign in to confirm your age"
                    r"|members.only|no such file or directory|this video is not available"),
    ("rate_limited", r"http error 429|too many requests|rate.?limit|try again later|confirm you.re not a bot"),
    ("decode", r"ffmpeg exited with code|invalid data found|moov atom not found"),
)


def classify(message: str) -> str:
    """``private``, ``unavailable``, ``rate_limited``, ``decode`` or ``transient`` (the default: retry later)."""
    low = message.lower()
    for kind, pattern in _RULES:
        if re.search(pattern, low):
            return kind
    return "transient"


class FetchError(ToolError):
    """A failed fetch: ``kind`` from ``classify`` (or ``truncated``), the cleaned message, attempts made."""

    def __init__(self, kind: str, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.kind, self.message, self.attempts = kind, message, attempts

    @property
    def status(self) -> str:
        """The manifest status of every clip of the video."""
        return {"private": "private", "unavailable": "unavailable", "rate_limited": "rate_limited",
                "decode": "failed_decode"}.get(self.kind, "failed_download")


@dataclass
class FetchConfig:
    """Network behaviour; the defaults are polite for YouTube (docs/datasets.md)."""

    retries: int = 5  # further attempts after the first, per video and run
    backoff: float = 5.0  # seconds before the first retry; doubles each time
    sleep: float = 1.0  # minimum seconds between two fetch starts, across all workers
    max_sleep: float = 600.0  # ceiling of the slowed-down spacing after rate limiting
    cookies: str | None = None  # Netscape cookie file handed to yt-dlp
    format: str = "bv*[height>=64][width>=64]+ba/b[height>=64][width>=64]/bv*+ba/b"
    # the smallest good-enough stream: <= 360 px on the short side (portrait too) and <= 30 fps, where decoding a
    # clip costs ~0.3 CPU s (720p60 costs ~1 s and is scaled down to 64x64 all the same)
    format_sort: tuple[str, ...] = ("res:360", "fps:30", "+size", "+br")
    socket_timeout: float = 30.0


class Pacer:
    """Thread-safe spacing of fetch starts; ``penalize`` (after a 429) doubles it, ``reward`` decays it back."""

    def __init__(self, interval: float, backoff: float, max_interval: float = 600.0) -> None:
        self.base = self.interval = self.peak = max(interval, 0.0)
        self.backoff, self.max_interval = backoff, max_interval
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def penalize(self) -> None:
        with self._lock:
            self.interval = min(self.max_interval, max(2 * self.interval, self.backoff))
            self.peak = max(self.peak, self.interval)
            self._next = max(self._next, time.monotonic() + self.interval)

    def reward(self) -> None:
        with self._lock:
            self.interval = max(self.base, 0.8 * self.interval)


class QuietLogger:
    """yt-dlp logger that drops its chatter: failures reach us as exceptions."""

    def debug(self, msg: str) -> None:
        pass

    info = warning = error = debug


def clean_message(msg: str) -> str:
    """A yt-dlp error message without its colour codes and ``ERROR:`` prefix."""
    msg = re.sub(r"\x1b\[[0-9;]*m", "", msg).strip()
    return re.sub(r"^ERROR:\s*", "", msg)


def _ydl_options(raw_dir: Path, windows: list[tuple[float, float]] | None, cfg: FetchConfig) -> dict[str, Any]:
    ffmpeg = Path(ffmpeg_exe())
    opts: dict[str, Any] = {
        "quiet": True, "no_warnings": True, "noprogress": True, "logger": QuietLogger(), "noplaylist": True,
        "format": cfg.format, "format_sort": list(cfg.format_sort), "merge_output_format": "mkv",
        "retries": 3, "fragment_retries": 3, "extractor_retries": 0, "socket_timeout": cfg.socket_timeout,
        "enable_file_urls": True, "overwrites": True, "continuedl": True,
        "ffmpeg_location": str(ffmpeg.parent) if ffmpeg.is_absolute() else str(ffmpeg),
        "outtmpl": str(raw_dir / ("%(section_start)s.%(ext)s" if windows else "video.%(ext)s")),
    }
    if cfg.cookies:
        opts["cookiefile"] = cfg.cookies
    if windows:
        opts["external_downloader_args"] = {"ffmpeg_i": ["-copyts"]}  # keep the source's timestamps (see above)
        opts["download_ranges"] = lambda info, ydl: [{"start_time": a, "end_time": b} for a, b in windows]
    return opts


def _media_url(info: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    fmt = (info.get("requested_formats") or [info])[0]
    return fmt.get("url"), fmt.get("http_headers") or {}


def _fetch_once(url: str, raw_dir: Path, windows: list[tuple[float, float]] | None, cfg: FetchConfig,
                attempt: int = 1) -> dict[str, Any]:
    yt_dlp = require("yt_dlp", "download")

    shutil.rmtree(raw_dir, ignore_errors=True)
    raw_dir.mkdir(parents=True)
    info: dict[str, Any] | None = None
    try:
        with yt_dlp.YoutubeDL(_ydl_options(raw_dir, windows, cfg)) as ydl:
            info = ydl.extract_info(url, download=True)
    except yt_dlp.utils.YoutubeDLError as e:
        err = FetchError(classify(clean_message(str(e))), clean_message(str(e)))
        if err.kind == "decode" and info is None:
            err.message += _source_message(url, cfg)
        raise err from None
    if info is None:
        raise FetchError("transient", f"{url}: yt-dlp returned nothing")
    done = [d for d in info.get("requested_downloads") or [] if d.get("filepath")]
    if windows:  # one file per window, matched by the section start yt-dlp reports
        by_start = {round(float(d.get("section_start") or 0), 3): Path(d["filepath"]) for d in done}
        files = [by_start.get(round(a, 3)) for a, _ in windows]
    else:
        files = [Path(d["filepath"]) for d in done[:1]]
    if not files or None in files:
        raise FetchError("transient", f"{url}: yt-dlp did not report a file for every window")
    duration = info.get("duration")
    if duration is None and not url.startswith("file:"):
        src, headers = _media_url(info)
        try:
            duration = probe(src, headers).duration if src else None
        except MediaError:
            duration = None
    for i, f in enumerate(files):
        try:
            probe(f)
            tl = timeline(f)
        except MediaError as e:
            raise FetchError("decode", str(e)) from None
        a, b = windows[i] if windows else (0.0, duration or 0.0)
        want = (min(b, duration) if duration else b) - a
        starts = [s[0] for s in (tl.video, tl.audio) if s is not None]
        got = tl.end - max(min(starts), a) if starts else 0.0
        if got < want - 0.5:
            raise FetchError("truncated", f"{f.name}: truncated download ({got:.2f} s of {want:.2f} s)")
    record = {"url": url, "windows": windows, "files": [f.name for f in files], "duration": duration,
              "id": info.get("id"), "title": info.get("title"), "extractor": info.get("extractor_key"),
              "timestamps": "source", "attempts": attempt}
    atomic_write_bytes(raw_dir / "fetch.json", json.dumps(record, sort_keys=True).encode())
    return record


def _source_message(url: str, cfg: FetchConfig) -> str:
    """ffprobe's own words about the source, for an ffmpeg failure inside yt-dlp (which keeps them to itself)."""
    yt_dlp = require("yt_dlp", "download")

    try:
        with yt_dlp.YoutubeDL({**_ydl_options(Path("."), None, cfg), "simulate": True}) as ydl:
            src, headers = _media_url(ydl.extract_info(url, download=False))
        probe(src, headers)
    except MediaError as e:
        return f" ({e})"
    except Exception:  # noqa: BLE001 - best effort only
        pass
    return ""


def load_fetched(raw_dir: Path, url: str, windows: list[tuple[float, float]] | None) -> dict[str, Any] | None:
    """The ``fetch.json`` of a finished earlier fetch of the same url and windows, if its files are all there."""
    path = raw_dir / "fetch.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    want = [list(w) for w in windows] if windows else None
    same = record.get("url") == url and (record.get("windows") or None) == want
    # a record without source timestamps (windows cut at keyframes) is fetched again
    same = same and (not windows or record.get("timestamps") == "source")
    return record if same and all((raw_dir / f).exists() for f in record["files"]) else None


def fetch(url: str, raw_dir: Path, windows: list[tuple[float, float]] | None, cfg: FetchConfig,
          pacer: Pacer) -> tuple[dict[str, Any], int]:
    """Fetch ``url`` (or its ``windows``) into ``raw_dir``; return (fetch record, attempts); raise ``FetchError``."""
    if url.startswith("file:"):
        windows = None  # yt-dlp cannot cut file:// media (FFmpegFD lacks the protocol): copy it whole
    done = load_fetched(raw_dir, url, windows)
    if done is not None:
        return done, int(done.get("attempts", 1))
    last: FetchError | None = None
    for attempt in range(1, cfg.retries + 2):
        pacer.wait()
        try:
            record = _fetch_once(url, raw_dir, windows, cfg, attempt)
            pacer.reward()
            return record, attempt
        except FetchError as e:
            e.attempts, last = attempt, e
            if e.kind in PERMANENT or (e.kind == "decode" and attempt >= 2):
                break
            if e.kind == "rate_limited":
                pacer.penalize()
            if attempt <= cfg.retries:
                time.sleep(cfg.backoff * 2 ** (attempt - 1))
    shutil.rmtree(raw_dir, ignore_errors=True)
    assert last is not None
    raise last
