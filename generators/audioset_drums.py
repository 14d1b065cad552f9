"""AudioSet-Drums: AudioSet segments labelled Drum (``/m/026t6``), cut into 3 s clips by the download pipeline.

AudioSet's segment CSVs start with three ``#`` lines, then rows ``YTID, start_seconds, end_seconds, "labels"`` with a
space after each comma; copies without the header or the spaces are read as well. ``read_segments`` takes a path or
a URL; ``drum_jobs`` keeps segments carrying any of ``labels`` and turns each into ``clips_per_segment``
non-overlapping 3 s clips from the segment start, fetched as one window padded by ``pad`` seconds on both sides (cuts
in yt-dlp's copy mode snap to keyframes; the exact cut happens in our decode). Segments of the same video share one
job. The paper kept only clips in which the drummer is visible: pass such a list with ``--keep-list``.
"""
from __future__ import annotations

import csv
import io
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from s2sbench.download.jobs import VideoJob
from s2sbench.errors import InputError

DRUM = "/m/026t6"
CSV_BASE = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/"
CSV_NAMES = ("eval_segments.csv", "balanced_train_segments.csv", "unbalanced_train_segments.csv")
YOUTUBE = "https://www.youtube.com/watch?v={ytid}"


@dataclass(frozen=True)
class Segment:
    ytid: str
    start: float
    end: float
    labels: tuple[str, ...]


def _read_text(src: str) -> str:
    if src.startswith(("http://", "https://", "file://")):
        try:
            with urllib.request.urlopen(src, timeout=60) as r:
                return r.read().decode("utf-8")
        except OSError as e:
            raise InputError(f"{src}: cannot fetch the segment list ({e})") from None
    path = Path(src)
    if not path.exists():
        raise InputError(f"{path}: segment CSV not found")
    return path.read_text(encoding="utf-8")


def read_segments(src: str) -> list[Segment]:
    """Parse an AudioSet segment CSV (path or URL); a malformed row raises ``InputError`` naming file and line."""
    out = []
    for lineno, row in enumerate(csv.reader(io.StringIO(_read_text(src)), skipinitialspace=True), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if row[0].strip().upper() == "YTID":
            continue
        if len(row) < 4:
            raise InputError(f"{src}:{lineno}: expected 'YTID, start, end, \"labels\"', got {','.join(row)!r}")
        try:
            start, end = float(row[1]), float(row[2])
        except ValueError:
            raise InputError(f"{src}:{lineno}: start/end are not numbers: {row[1]!r}, {row[2]!r}") from None
        labels = tuple(x.strip().strip('"') for part in row[3:] for x in part.split(",") if x.strip().strip('"'))
        out.append(Segment(row[0].strip(), start, end, labels))
    if not out:
        raise InputError(f"{src}: no segments found")
    return out


def drum_jobs(segments: list[Segment], labels: set[str] = frozenset({DRUM}), url_template: str = YOUTUBE,
              clips_per_segment: int = 1, pad: float = 1.0, length: float = 3.0,
              keep: set[str] | None = None) -> list[VideoJob]:
    """One ``VideoJob`` per video holding a matching segment, in first-appearance order."""
    jobs: dict[str, VideoJob] = {}
    for seg in segments:
        if not labels & set(seg.labels):
            continue
        starts = [seg.start + k * length for k in range(clips_per_segment)
                  if seg.start + (k + 1) * length <= seg.end + 1e-6]
        if not starts:
            continue
        job = jobs.setdefault(seg.ytid, VideoJob(seg.ytid, url_template.format(ytid=seg.ytid), windows=[], starts=[],
                                                 meta={"dataset": "audioset-drums", "labels": sorted(seg.labels)}))
        job.windows.append((max(0.0, starts[0] - pad), starts[-1] + length + pad))
        job.starts.extend(starts)
    out = list(jobs.values())
    if keep is not None:
        from s2sbench.download.manifest import clip_id
        out = [j for j in out if any(clip_id(j.key, s) in keep for s in j.starts)]
    return out
