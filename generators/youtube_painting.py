"""YouTube-Painting: painting videos (the paper's playlist by default) cut into 3 s clips by a fixed rule.

``list_playlist`` lists a playlist cheaply with yt-dlp (``extract_flat``); each video becomes one ``VideoJob``
fetched whole (at the smallest stream of at least 64 px), and ``WindowRule`` picks its clips once the duration is
known: non-overlapping 3 s windows on a 3 s grid starting ``margin`` seconds in and ending ``margin`` seconds before the
end (intros and outros skipped; the margin is dropped for videos too short to have one), then at most
``max_per_video`` of them spread evenly over the video. Silent, static or black windows are rejected later by the
quality rules, so the count per video can be lower.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from s2sbench.download.fetch import FetchError, QuietLogger, classify, clean_message
from s2sbench.download.jobs import VideoJob
from s2sbench.optional import require

PAPER_PLAYLIST = "https://www.youtube.com/playlist?list=PL5Y0dQ2DJHj47sK5jsbVkvPvTQ9r7T090X"  # paper, ref. [2]
YOUTUBE = "https://www.youtube.com/watch?v={ytid}"


@dataclass(frozen=True)
class WindowRule:
    """The clip rule (see module docstring)."""

    length: float = 3.0
    margin: float = 10.0
    max_per_video: int = 40

    def __call__(self, duration: float) -> list[float]:
        margin = self.margin if duration - 2 * self.margin >= self.length else 0.0
        n = max(0, int(math.floor((duration - 2 * margin) / self.length + 1e-9)))
        starts = [margin + k * self.length for k in range(n)]
        if len(starts) > self.max_per_video:
            step = (len(starts) - 1) / max(1, self.max_per_video - 1)
            idx = sorted({round(i * step) for i in range(self.max_per_video)})
            starts = [starts[i] for i in idx]
        return starts


@dataclass(frozen=True)
class Entry:
    key: str
    url: str
    title: str | None


def _key(entry: dict) -> str:
    if entry.get("id"):
        return str(entry["id"])
    unsmuggle_url = require("yt_dlp.utils", "download").unsmuggle_url
    return PurePosixPath(urlparse(unsmuggle_url(entry["url"])[0]).path).stem or "video"


def list_playlist(url: str, url_template: str | None = None, cookies: str | None = None) -> list[Entry]:
    """The videos of a playlist (any yt-dlp playlist, RSS feed or page); ``FetchError`` if it cannot be listed."""
    yt_dlp = require("yt_dlp", "download")
    unsmuggle_url = require("yt_dlp.utils", "download").unsmuggle_url
    opts = {"quiet": True, "no_warnings": True, "extract_flat": "in_playlist", "enable_file_urls": True,
            "logger": QuietLogger()}
    if cookies:
        opts["cookiefile"] = cookies
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(url, download=False)
    except yt_dlp.utils.YoutubeDLError as e:
        msg = clean_message(str(e))
        raise FetchError(classify(msg), f"{url}: cannot list playlist: {msg}") from None
    entries = [e for e in (info or {}).get("entries") or [] if e]
    if not entries:
        raise FetchError("unavailable", f"{url}: playlist has no entries")
    out = []
    for e in entries:
        key = _key(e)
        target = url_template.format(ytid=key) if (url_template and e.get("id")) else unsmuggle_url(e["url"])[0]
        out.append(Entry(key, target, e.get("title")))
    return out


def painting_jobs(playlists: list[str], url_template: str | None = YOUTUBE, rule: WindowRule = WindowRule(),
                  cookies: str | None = None, keep: set[str] | None = None) -> list[VideoJob]:
    """One whole-video ``VideoJob`` per playlist entry (duplicates across playlists dropped), in playlist order."""
    jobs: dict[str, VideoJob] = {}
    for pl in playlists:
        for e in list_playlist(pl, url_template, cookies):
            jobs.setdefault(e.key, VideoJob(e.key, e.url, windows=None, starts=None, plan=rule,
                                            meta={"dataset": "youtube-painting", "playlist": pl}))
    out = list(jobs.values())
    if keep is not None:
        prefixes = {k.rsplit("_", 1)[0] for k in keep}
        out = [j for j in out if j.key in prefixes]
    return out
