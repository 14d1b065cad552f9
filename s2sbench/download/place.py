"""Where a clip lies in the fetched files, read from the files' own timestamps, and whether it was decoded there.

A fetched window keeps the source's timestamps (``s2sbench.download.fetch``), so a clip starting at ``s`` seconds of
the video is decoded from timestamp ``s`` of its window file, whatever the container: MP4 (edit list or not),
Matroska or WebM, one file or video and audio merged from separate streams, constant or variable frame rate.
``place`` checks that the file's timeline really is the source's before anything is decoded (the window must end
where it was asked to end, within ``END_SLACK``: the audio, whose packets all start cleanly, is cut there to within
one packet, while a file whose timestamps restart at 0 ends early by exactly the keyframe snap) and that
both streams cover the clip's start; ``check_first_frame`` checks after the decode that the first source frame
used lies within one source frame of ``s``. A clip that fails either is ``rejected:unplaced`` with the reason,
never stored at a wrong time.
"""
from __future__ import annotations

from dataclasses import dataclass

from s2sbench.download.media import Timeline

END_SLACK = 0.1  # seconds: audio packets are <= 64 ms; video can overrun its cut by a few frames (B-frame reorder)


@dataclass(frozen=True)
class Placement:
    """A clip's file, its start in that file's timeline, the timeline itself; ``error`` set when it cannot be placed."""

    file: str | None
    start: float
    timeline: Timeline | None = None
    status: str = "ok"
    error: str = ""


def window_of(start: float, length: float, windows: list[list[float]] | None,
              files: list[str]) -> tuple[str, tuple[float, float] | None] | None:
    """The fetched file holding ``[start, start + length]`` and its window (None: the whole video)."""
    if not windows:
        return files[0], None
    for (a, b), f in zip(windows, files):
        if a - 1e-6 <= start and start + length <= b + 1e-6:
            return f, (a, b)
    return None


def place(start: float, file: str, window: tuple[float, float] | None, duration: float | None,
          tl: Timeline) -> Placement:
    """Check that ``file`` (read as ``tl``) holds the clip at ``start`` of its own timeline (see module docstring)."""
    if tl.video is None:
        return Placement(file, start, tl, "rejected:no_video")
    if tl.audio is None:
        return Placement(file, start, tl, "rejected:no_audio")
    slack = tl.frame + 1e-3
    if window is not None:
        end = min(window[1], duration) if duration else None
        if end is not None and abs(tl.audio[1] - end) > END_SLACK:
            return Placement(file, start, tl, "rejected:unplaced",
                             f"window {window[0]:.3f}-{window[1]:.3f} s: its audio ends at {tl.audio[1]:.3f} s in "
                             f"{file}, so its timestamps are not the source's")
    late = [(k, s[0]) for k, s in (("video", tl.video), ("audio", tl.audio)) if s[0] > start + slack]
    if late:
        k, t = late[0]
        return Placement(file, start, tl, "rejected:unplaced",
                         f"{k} of {file} starts at {t:.3f} s, after the clip start {start:.3f} s")
    return Placement(file, start, tl)


def check_first_frame(p: Placement, first: float) -> str:
    """'' when the first decoded source frame lies within one source frame of the clip start, else why not."""
    assert p.timeline is not None
    if abs(first - p.start) <= p.timeline.frame + 1e-3:
        return ""
    return (f"first frame decoded at {first:.3f} s of {p.file}, wanted {p.start:.3f} s "
            f"(source frame {p.timeline.frame * 1000:.1f} ms)")
