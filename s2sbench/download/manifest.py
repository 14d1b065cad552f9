"""The downloaders' bookkeeping: one ``Row`` per clip, ``DIR/manifest.csv``, and per-video state files for resuming.

Each finished video (whatever its outcome) is committed as one ``DIR/state/<video>.json`` written atomically, after
its decoded clips (``DIR/clips/<video>.h5``); a re-run skips every video whose state is final. ``manifest.csv`` is
rebuilt from the states in list order, so it never holds a half-written or duplicated row.

Statuses: ``ok``, ``unavailable``, ``private``, ``rate_limited``, ``failed_download`` (network trouble that outlasted
the retries), ``failed_decode`` and ``rejected:<reason>``. ``rate_limited`` and ``failed_download`` are retried on
the next run; every other status is final.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from s2sbench.data.shards import atomic_write_bytes
from s2sbench.errors import InputError

RETRYABLE = ("rate_limited", "failed_download")
STATUSES = ("ok", "unavailable", "private", "rate_limited", "failed_download", "failed_decode", "rejected")


@dataclass
class Row:
    """One listed clip (or, for a video that failed before its clips were known, the video itself)."""

    id: str
    video: str
    url: str
    start: float | None
    end: float | None
    status: str
    attempts: int = 0
    error: str = ""
    sha256: str = ""
    split: str = ""

    @property
    def is_clip(self) -> bool:
        return self.start is not None


FIELDS = tuple(f.name for f in fields(Row))


def clip_id(video: str, start: float) -> str:
    """``<video>_<start_ms>``, the stable id of a clip."""
    return f"{video}_{int(round(start * 1000))}"


def write_manifest(path: str | os.PathLike, rows: list[Row]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        d = asdict(r)
        d["start"] = "" if r.start is None else f"{r.start:.3f}"
        d["end"] = "" if r.end is None else f"{r.end:.3f}"
        w.writerow(d)
    atomic_write_bytes(path, buf.getvalue().encode())


def read_manifest(path: str | os.PathLike) -> list[Row]:
    with open(path, newline="") as f:
        return [Row(id=d["id"], video=d["video"], url=d["url"], start=float(d["start"]) if d["start"] else None,
                    end=float(d["end"]) if d["end"] else None, status=d["status"], attempts=int(d["attempts"] or 0),
                    error=d["error"], sha256=d["sha256"], split=d["split"]) for d in csv.DictReader(f)]


@dataclass
class VideoState:
    """The committed outcome of one video: its rows, fetch attempts so far, and its staged clips file."""

    key: str
    rows: list[Row] = field(default_factory=list)
    attempts: int = 0
    clips_file: str | None = None

    @property
    def final(self) -> bool:
        return all(r.status not in RETRYABLE for r in self.rows)


class StateStore:
    """``DIR/state/<key>.json`` files, each written atomically."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        for tmp in self.root.glob(".*.tmp"):  # left by a killed run
            tmp.unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def load(self, key: str) -> VideoState | None:
        try:
            d = json.loads(self.path(key).read_text())
        except FileNotFoundError:
            return None
        except ValueError as e:
            raise InputError(f"{self.path(key)}: corrupt state file ({e}); delete it to redo this video") from None
        return VideoState(key=d["key"], rows=[Row(**r) for r in d["rows"]], attempts=d["attempts"],
                          clips_file=d.get("clips_file"))

    def save(self, state: VideoState) -> None:
        d = {"key": state.key, "rows": [asdict(r) for r in state.rows], "attempts": state.attempts,
             "clips_file": state.clips_file}
        atomic_write_bytes(self.path(state.key), json.dumps(d, sort_keys=True).encode())


def read_keep_list(path: str | os.PathLike) -> set[str]:
    """Clip ids approved by a person, one per line; blank lines and ``#`` comments are ignored."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: keep-list file not found")
    ids = {line.split("#", 1)[0].strip() for line in path.read_text().splitlines()}
    ids.discard("")
    if not ids:
        raise InputError(f"{path}: keep-list has no clip ids")
    return ids
