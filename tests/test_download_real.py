"""Clips cut at the labelled time from real recordings served the ways YouTube serves them (offline, 127.0.0.1).

Real camera footage with its sound and a recorded snare hit (Debian's opencv-doc and hydrogen-data, see
``s2sbench/download/realmedia.py``) are muxed once per session into MP4 H.264 + AAC, WebM VP9 + Opus and separate
video-only + audio-only DASH streams (merged by yt-dlp into Matroska), at 25, 29.97, 60 fps and a variable rate,
landscape and portrait, keyframes every 2 to 8 s, 44.1 and 48 kHz stereo. Each clip holds one marker: a white frame
and the snare's attack at the same instant. The real CLI fetches every clip's padded window with real yt-dlp
(copy-mode cuts, which snap to a keyframe up to 8 s before the window) and cuts it; each stored clip must show the
flash in the expected frame +-1 and the hit within one frame of the flash.
"""
from __future__ import annotations

import csv

import pytest
from _mediaserver import MediaServer
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.data.datasets import DATASETS
from s2sbench.data.loader import ClipDataset
from s2sbench.download import realmedia
from s2sbench.download.realmedia import COMBOS, flash_frame, markers, onset_frame

SPEC = DATASETS.get("audioset-drums").spec
pytestmark = pytest.mark.skipif(bool(realmedia.missing()), reason=realmedia.missing() or "ok")


@pytest.fixture(scope="session")
def real_www(tmp_path_factory):
    www, scratch = tmp_path_factory.mktemp("real-www"), tmp_path_factory.mktemp("real-scratch")
    served = {c.name: realmedia.build(c, www, [m for _, m in markers(c)], scratch) for c in COMBOS}
    return www, served


@pytest.fixture(scope="module")
def downloaded(real_www, tmp_path_factory):
    www, served = real_www
    root = tmp_path_factory.mktemp("real-dl")
    seg = root / "segments.csv"
    seg.write_text("".join(f'{c.name}, {s:.3f}, {s + 3:.3f}, "/m/026t6"\n' for c in COMBOS for s, _ in markers(c)))
    out = root / "out"
    (out / "clips").mkdir(parents=True)
    (out / "clips" / "s2s-audio-killed.f32").write_bytes(b"\0" * 64)  # as a killed decode leaves it
    with MediaServer(www) as server:
        server.aliases.update(served)
        res = CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(seg), "--out", str(out),
                                        "--url-template", server.url + "/{ytid}", "--sleep", "0", "--quiet",
                                        "--workers", "2", "--split-sizes", "100,0,0"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    with open(out / "manifest.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    ds = ClipDataset(out / "shards", "train", audio_features="raw")
    return out, rows, {ds.clip(i).id: ds.clip(i) for i in range(len(ds))}


@pytest.mark.parametrize("combo", COMBOS, ids=[c.name for c in COMBOS])
def test_marker_lands_in_the_expected_frame(downloaded, combo):
    out, rows, clips = downloaded
    for start, marker in markers(combo):
        cid = f"{combo.name}_{int(round(start * 1000))}"
        assert rows[cid]["status"] == "ok", rows[cid]
        clip = clips[cid]
        assert clip.meta["start"] == pytest.approx(start)
        expected = (marker - start) * SPEC.fps
        flash = flash_frame(clip.frames)
        hit = onset_frame(clip.audio, SPEC.samples_per_frame)
        assert flash is not None and hit is not None, f"{cid}: no marker in the clip (flash {flash}, hit {hit})"
        assert abs(flash - expected) <= 1 + 1e-6, f"{cid}: flash in frame {flash}, expected {expected:.1f}"
        assert abs(hit - flash) <= 1 + 1e-6, f"{cid}: hit at frame {hit:.2f}, flash in frame {flash}"


def test_windows_were_cut_in_copy_mode_before_the_clip(downloaded):
    """The fetched windows really start at an earlier keyframe: the case that put Matroska/WebM clips early."""
    from s2sbench.download.media import timeline

    out, _, _ = downloaded
    snapped = 0
    for c in COMBOS:
        for f in sorted((out / "raw" / c.name).glob("*.*")):
            if f.suffix in (".mp4", ".mkv", ".webm"):  # named by yt-dlp after the window start
                tl = timeline(f)
                window_start = float(f.stem)
                assert tl.video[0] <= window_start + c.frame
                snapped += tl.video[0] < window_start - 0.2
    assert snapped >= 6


def test_decode_scratch_files_live_in_the_staging_folder_and_are_cleaned(downloaded):
    out, _, _ = downloaded
    assert not list((out / "clips").glob("s2s-audio-*"))  # the stale one was removed at start, none left behind


def test_a_window_without_the_sources_timestamps_is_rejected_not_misplaced(real_www, tmp_path):
    """The bug's own repro (``ffmpeg -ss A -t D -i x.webm -c copy``: t = 0 is the keyframe before A) is caught."""
    import json

    from s2sbench.download.jobs import DownloadConfig, VideoJob
    from s2sbench.download.pipeline import run_download
    from s2sbench.media import run_ffmpeg

    www, served = real_www
    (s, _), (s2, _) = markers(COMBOS[1])  # webm_vp9_opus: keyframes every 4 s
    windows = [(s - 1, s + 4), (s2 - 1, s2 + 4)]
    raw = tmp_path / "out" / "raw" / "cut"
    raw.mkdir(parents=True)
    files = []
    for i, (a, b) in enumerate(windows):
        files.append(f"{a}.webm")
        copyts = [] if i else ["-copyts"]  # the first as the fixed fetch makes it; the second snaps 10.7 -> 8.0 s
        run_ffmpeg(["-ss", f"{a}", "-t", f"{b - a}", *copyts, "-i", str(www / served[COMBOS[1].name]),
                    "-c", "copy", "-y", str(raw / files[-1])])
    url = "http://127.0.0.1:9/cut"
    (raw / "fetch.json").write_text(json.dumps({"url": url, "windows": windows, "files": files, "duration": 20.0,
                                                "timestamps": "source", "attempts": 1}))
    cfg = DownloadConfig(out=tmp_path / "out", spec=SPEC, progress=False, split_sizes={"train": 9, "val": 0, "test": 0})
    res = run_download([VideoJob("cut", url, windows=windows, starts=[s, s2])], cfg)
    rows = {r.start: r for r in res.rows}
    assert rows[s2].status == "rejected:unplaced" and "timestamps are not the source's" in rows[s2].error
    assert rows[s].status == "ok"
