"""Downloaders end to end, offline: real yt-dlp and real ffmpeg against videos made here and served on 127.0.0.1."""
from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _mediaserver import MediaServer
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.data.datasets import DATASETS
from s2sbench.data.loader import ClipDataset
from s2sbench.data.shards import ShardIndex, audio_to_int16
from s2sbench.download.assemble import assign_splits
from s2sbench.download.fetch import Pacer, classify
from s2sbench.download.media import decode_clip, probe
from s2sbench.download.quality import QualityRule, reject_reason
from s2sbench.download.testvideos import make_test_video
from s2sbench.generators.audioset_drums import DRUM, drum_jobs, read_segments
from s2sbench.generators.youtube_painting import WindowRule
from s2sbench.media import MediaError

SPEC = DATASETS.get("audioset-drums").spec
HEADER = ("# Segments csv created Sun Mar  5 10:54:31 2017\n"
          "# num_ytids=9, num_segs=9, num_unique_labels=527, num_positive_labels=12\n"
          "# YTID, start_seconds, end_seconds, positive_labels\n")
FAST = ["--sleep", "0", "--backoff", "0.05", "--retries", "3", "--quiet", "--workers", "2"]
FLASH = 3.28  # seconds: the flash frame and the beep onset in sync.mp4


@pytest.fixture(scope="module")
def www(tmp_path_factory):
    d = tmp_path_factory.mktemp("www")
    for i in range(6):
        make_test_video(d / f"drum{i}.mp4", seconds=7, seed=i)
    make_test_video(d / "sync.mp4", seconds=7, seed=9, flash_at=FLASH, beep_at=FLASH)
    for kind in ("black", "frozen", "silent"):
        make_test_video(d / f"{kind}.mp4", seconds=7, kind=kind)
    (d / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 60000, dtype=np.uint8).tobytes())
    return d


@pytest.fixture
def server(www):
    with MediaServer(www) as s:
        yield s


def write_csv(path: Path, rows: list[str], header: bool = True) -> Path:
    path.write_text((HEADER if header else "") + "\n".join(rows) + "\n")
    return path


def drums(server, csv_path, out, *extra, code=0):
    args = ["download", "audioset-drums", "--segments", str(csv_path), "--out", str(out),
            "--url-template", server.url + "/{ytid}.mp4", *FAST, *extra]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == code, res.output + repr(res.exception)
    return res


def manifest(out) -> dict[str, dict]:
    with open(Path(out) / "manifest.csv", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def shard_ids(out) -> dict[str, list[str]]:
    index = ShardIndex.load(Path(out) / "shards")
    out = Path(out) / "shards"
    return {s: [ds.clip(i).id for i in range(len(ds))] for s in index.splits() if (ds := ClipDataset(out, s))}


# ---- units ---------------------------------------------------------------------------------------------------

def test_segment_csv_both_layouts_and_bad_rows(tmp_path):
    a = write_csv(tmp_path / "a.csv", ['-0RWZT-miFs, 420.000, 430.000, "/m/03v3yw,/m/026t6"',
                                       'x1, 0.000, 6.000, "/m/04rlf"'])
    b = write_csv(tmp_path / "b.csv", ['-0RWZT-miFs,420.000,430.000,"/m/03v3yw,/m/026t6"', "x1,0,6,/m/04rlf"],
                  header=False)
    for src in (a, b):
        segs = read_segments(str(src))
        assert [(s.ytid, s.start, s.end) for s in segs] == [("-0RWZT-miFs", 420.0, 430.0), ("x1", 0.0, 6.0)]
        assert segs[0].labels == ("/m/03v3yw", DRUM) and segs[1].labels == ("/m/04rlf",)
    jobs = drum_jobs(read_segments(str(a)), clips_per_segment=3)
    assert [j.key for j in jobs] == ["-0RWZT-miFs"] and jobs[0].starts == [420.0, 423.0, 426.0]
    assert jobs[0].windows == [(419.0, 430.0)]
    assert [j.key for j in drum_jobs(read_segments(str(a)), labels={"/m/04rlf"})] == ["x1"]
    bad = write_csv(tmp_path / "bad.csv", ["y1, 0.0, 10.0, \"/m/026t6\"", "y2, zero, 10.0, \"/m/026t6\""])
    with pytest.raises(ValueError, match=r"bad\.csv:5: start/end are not numbers"):
        read_segments(str(bad))


def test_failure_classes():
    assert classify("ERROR: [youtube] abc: Private video. Sign in if you've been granted access") == "private"
    assert classify("[youtube] abc: Video unavailable. This video has been removed by the uploader") == "unavailable"
    assert classify("Unable to download webpage: HTTP Error 404: Not Found") == "unavailable"
    assert classify("HTTP Error 429: Too Many Requests") == "rate_limited"
    assert classify("Sign in to confirm you're not a bot. Use --cookies-from-browser") == "rate_limited"
    assert classify("This content isn't available, try again later.") == "rate_limited"
    assert classify("HTTP Error 503: Service Unavailable") == "transient"
    assert classify("ffmpeg exited with code 1") == "decode"


def test_pacer_spaces_starts_and_slows_down_after_rate_limiting():
    pacer = Pacer(interval=0.02, backoff=0.1)
    t0 = time.monotonic()
    for _ in range(4):
        pacer.wait()
    assert time.monotonic() - t0 >= 0.06  # three gaps of 0.02 s
    pacer.penalize()
    assert pacer.interval == 0.1
    pacer.penalize()
    assert pacer.interval == pytest.approx(0.2) and pacer.peak == pytest.approx(0.2)
    t0 = time.monotonic()
    pacer.wait()
    assert time.monotonic() - t0 >= 0.15  # the next start waits out the slowed-down spacing
    for _ in range(20):
        pacer.reward()
    assert pacer.interval == 0.02


def test_painting_window_rule():
    rule = WindowRule(margin=10, max_per_video=40)
    assert rule(35.0) == [10.0, 13.0, 16.0, 19.0, 22.0]  # 15 s between the margins: five 3 s windows
    assert rule(8.0) == [0.0, 3.0]  # too short for margins
    many = rule(3600.0)
    assert len(many) == 40 and many[0] == 10.0 and many[-1] + 3 <= 3590 and len(set(many)) == 40


def test_split_assignment_is_per_video_and_proportional():
    videos = {f"v{i}": 1 + i % 3 for i in range(400)}
    split = assign_splits(videos, {"train": 6000, "val": 1000, "test": 1000}, seed=0)
    counts = {s: sum(n for v, n in videos.items() if split[v] == s) for s in ("train", "val", "test")}
    total = sum(videos.values())
    assert all(split[v] for v in videos)
    assert abs(counts["train"] - 0.75 * total) <= 3 and abs(counts["val"] - 0.125 * total) <= 3
    assert assign_splits(videos, {"train": 6000, "val": 1000, "test": 1000}, seed=0) == split
    assert assign_splits(videos, {"train": 6000, "val": 1000, "test": 1000}, seed=1) != split
    capped = assign_splits(videos, {"train": 10, "val": 2, "test": 2}, seed=0)
    assert sum(n for v, n in videos.items() if capped[v]) <= 14 + 2 and "" in capped.values()


def test_quality_rules_on_arrays():
    rng = np.random.default_rng(0)
    good = rng.integers(0, 256, SPEC.frame_shape, dtype=np.uint8)
    audio = rng.normal(0, 0.1, SPEC.num_samples).astype(np.float32)
    assert reject_reason(good, audio, SPEC) is None
    assert reject_reason(good[:80], audio, SPEC) == "short"
    assert reject_reason(good, audio[:-SPEC.samples_per_frame], SPEC) == "short"
    assert reject_reason(good, audio[:-100], SPEC) is None  # within the half-frame slack
    assert reject_reason(good // 20, audio, SPEC) == "black"
    frozen = good.copy()
    frozen[20:60] = good[20]
    assert reject_reason(frozen, audio, SPEC) == "frozen"
    assert reject_reason(frozen, audio, SPEC, QualityRule(frozen_frames=45)) is None
    assert reject_reason(good, audio * 1e-4, SPEC) == "silent"


def test_decode_errors_carry_ffmpegs_message(www, tmp_path):
    with pytest.raises(MediaError, match="No such file or directory"):
        decode_clip(tmp_path / "missing.mp4", 0.0, 30, 90, 64, 22050, tmp_dir=tmp_path)
    with pytest.raises(MediaError, match="Invalid data found|moov atom not found"):
        probe(www / "corrupt.mp4")
    info = probe(www / "drum0.mp4")
    assert (info.width, info.height, info.has_audio) == (160, 120, True) and abs(info.duration - 7.0) < 0.1


# ---- end to end ------------------------------------------------------------------------------------------------

def test_full_audioset_run_from_csv(server, tmp_path):
    rows = [f'drum{i}, {1 + i % 3}.000, {5 + i % 3}.000, "/m/026t6,/m/04rlf"' for i in range(4)]
    rows += ['drum4, 1.000, 5.000, "/m/04rlf"',  # not a drum segment: never fetched
             'black, 1.0, 5.0, "/m/026t6"', 'frozen, 1.0, 5.0, "/m/026t6"', 'silent, 1.0, 5.0, "/m/026t6"',
             'gone, 1.0, 5.0, "/m/026t6"']
    src, out = write_csv(tmp_path / "seg.csv", rows), tmp_path / "drums"
    res = drums(server, src, out, "--split-sizes", "2,1,1")
    m = manifest(out)
    assert {k: v["status"] for k, v in m.items()} == {
        "drum0_1000": "ok", "drum1_2000": "ok", "drum2_3000": "ok", "drum3_1000": "ok", "black_1000": "rejected:black",
        "frozen_1000": "rejected:frozen", "silent_1000": "rejected:silent", "gone_1000": "unavailable"}
    assert "HTTP Error 404" in m["gone_1000"]["error"] and server.requests("drum4.mp4") == 0
    index = ShardIndex.load(out / "shards")
    assert index.verify(out / "shards") == []
    assert index.source["listed_clips"] == 8 and index.source["obtained_clips"] == 4
    assert sum(index.splits().values()) == 4 and set(index.splits()) == {"train", "val", "test"}
    for split in index.splits():  # the manifest's sha256 is that of the stored clip; splits follow the manifest
        ds = ClipDataset(out / "shards", split, audio_features="raw")
        for i in range(len(ds)):
            clip = ds.clip(i)
            digest = hashlib.sha256(clip.frames.tobytes() + audio_to_int16(clip.audio).tobytes()).hexdigest()
            assert m[clip.id]["sha256"] == digest and m[clip.id]["split"] == split
            assert clip.frames.shape == (90, 64, 64, 3) and clip.audio.shape == (90 * 735,)
    assert "listed 8 clips, obtained 4" in res.output and "rejected:frozen" in res.output
    before = len(server.log)
    res = drums(server, src, out, "--split-sizes", "2,1,1")  # re-run: everything final, nothing fetched again
    assert len(server.log) == before and manifest(out) == m


def test_flash_and_beep_land_in_the_same_frame(server, tmp_path):
    out = tmp_path / "sync"
    drums(server, write_csv(tmp_path / "s.csv", ['sync, 2.000, 6.000, "/m/026t6"']), out, "--split-sizes", "1,0,0")
    clip = ClipDataset(out / "shards", "train", audio_features="raw").clip(0)
    brightness = clip.frames.reshape(90, -1).mean(axis=1)
    flash = int(np.argmax(brightness > 200))
    beep = int(np.argmax(np.abs(clip.audio) > 0.2)) / SPEC.samples_per_frame  # onset, in frames
    expected = (FLASH - 2.0) * SPEC.fps  # 38.4: the clip starts at 2.0 s
    assert brightness[flash] > 200 and abs(flash - beep) <= 1.0 and abs(flash - expected) <= 1.0
    assert abs(beep - expected) <= 0.5


def test_429_then_ok_and_pacing(server, tmp_path):
    server.faults["drum0.mp4"] = [429, 429]
    out = tmp_path / "r"
    drums(server, write_csv(tmp_path / "s.csv", ['drum0, 1.0, 5.0, "/m/026t6"']), out, "--split-sizes", "1,0,0")
    row = manifest(out)["drum0_1000"]
    assert row["status"] == "ok" and row["attempts"] == "3"
    server.faults["drum1.mp4"] = [429] * 10  # never recovers: recorded as rate_limited, retried by the next run
    out2 = tmp_path / "r2"
    src = write_csv(tmp_path / "s2.csv", ['drum1, 1.0, 5.0, "/m/026t6"'])
    t0 = time.monotonic()
    res = CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(src), "--out", str(out2),
                                    "--url-template", server.url + "/{ytid}.mp4", *FAST, "--retries", "2"])
    assert res.exit_code == 1 and "no clip was obtained (1 rate_limited)" in res.output, res.output  # says why
    assert time.monotonic() - t0 >= 0.05 + 0.1  # backoff 0.05 then 0.1 s, plus the slowed-down spacing
    assert manifest(out2)["drum1_1000"]["status"] == "rate_limited" and server.requests("drum1.mp4") == 3
    server.faults["drum1.mp4"] = []
    drums(server, src, out2, "--split-sizes", "1,0,0")
    assert manifest(out2)["drum1_1000"]["status"] == "ok" and manifest(out2)["drum1_1000"]["attempts"] == "4"


def test_404_is_recorded_once(server, tmp_path):
    out = tmp_path / "n"
    src = write_csv(tmp_path / "s.csv", ['nothere, 1.0, 5.0, "/m/026t6"'])
    res = CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(src), "--out", str(out),
                                    "--url-template", server.url + "/{ytid}.mp4", *FAST])
    assert manifest(out)["nothere_1000"]["status"] == "unavailable"
    assert server.requests("nothere.mp4") == 1 and manifest(out)["nothere_1000"]["attempts"] == "1"
    # no clip obtained: exit 1 with one line saying why (today: exit 0 and an empty shards/index.json)
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert res.exit_code == 1 and len(errors) == 1 and "no clip was obtained (1 unavailable)" in errors[0], res.output
    assert "manifest.csv" in errors[0] and "Traceback" not in res.output
    CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(src), "--out", str(out),
                              "--url-template", server.url + "/{ytid}.mp4", *FAST])
    assert server.requests("nothere.mp4") == 1


def test_connection_cut_mid_file_is_retried(server, tmp_path):
    server.faults["drum2.mp4"] = [None, "cut", "cut"]  # extractor probe OK, then the media body is cut twice
    out = tmp_path / "c"
    drums(server, write_csv(tmp_path / "s.csv", ['drum2, 1.0, 5.0, "/m/026t6"']), out, "--split-sizes", "1,0,0")
    row = manifest(out)["drum2_1000"]
    assert row["status"] == "ok" and server.requests("drum2.mp4") >= 3
    assert ShardIndex.load(out / "shards").verify(out / "shards") == []


def test_corrupt_file_fails_decode_with_ffmpegs_message(server, tmp_path):
    out = tmp_path / "x"
    res = drums(server, write_csv(tmp_path / "s.csv", ['corrupt, 1.0, 5.0, "/m/026t6"']), out, code=1)
    assert "no clip was obtained (1 failed_decode)" in res.output  # the only clip failed: exit 1, saying why
    row = manifest(out)["corrupt_1000"]
    assert row["status"] == "failed_decode" and row["attempts"] == "2"
    assert "moov atom not found" in row["error"] or "Invalid data" in row["error"]
    assert not (out / "shards" / "index.json").exists() or ShardIndex.load(out / "shards").splits() == {}


def test_keep_list_and_max_clips(server, tmp_path):
    src = write_csv(tmp_path / "s.csv", [f'drum{i}, 1.0, 7.0, "/m/026t6"' for i in range(3)])
    out = tmp_path / "k"
    drums(server, src, out, "--clips-per-segment", "2", "--max-clips", "3", "--split-sizes", "1,1,1")
    assert list(manifest(out)) == ["drum0_1000", "drum0_4000", "drum1_1000"]
    assert server.requests("drum2.mp4") == 0
    keep = tmp_path / "keep.txt"
    keep.write_text("# approved by a person: drummer visible\ndrum0_4000\n\ndrum1_1000  # ok\n")
    before = len(server.log)
    drums(server, src, out, "--clips-per-segment", "2", "--max-clips", "3", "--split-sizes", "1,1,1",
          "--keep-list", str(keep), "--overwrite")  # publishing the reviewed subset replaces the dataset
    m = manifest(out)
    assert m["drum0_1000"]["status"] == "rejected:not_in_keep_list" and len(server.log) == before
    assert sorted(c for ids in shard_ids(out).values() for c in ids) == ["drum0_4000", "drum1_1000"]


def _tree(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_a_finished_dataset_is_replaced_only_with_overwrite(server, tmp_path):
    src = write_csv(tmp_path / "s.csv", [f'drum{i}, 1.0, 5.0, "/m/026t6"' for i in range(3)])
    out = tmp_path / "d"
    drums(server, src, out, "--split-sizes", "1,1,1")
    before, fetched = _tree(out), len(server.log)
    drums(server, src, out, "--split-sizes", "1,1,1")  # the same command again continues: nothing changes
    assert _tree(out) == before
    keep = tmp_path / "keep.txt"
    keep.write_text("drum0_1000\n")
    args = ["download", "audioset-drums", "--segments", str(src), "--out", str(out),
            "--url-template", server.url + "/{ytid}.mp4", *FAST]
    for extra in (["--split-sizes", "1,1,1", "--seed", "3"], ["--split-sizes", "2,1,1"],
                  ["--split-sizes", "1,1,1", "--keep-list", str(keep)]):
        res = CliRunner().invoke(main, args + extra)
        assert res.exit_code == 1, res.output
        (line,) = [x for x in res.output.splitlines() if x.startswith("Error:")]
        assert line.startswith(f"Error: {out}: holds a finished dataset built with other ") and "--overwrite" in line
        assert _tree(out) == before and len(server.log) == fetched  # refused before anything was fetched or written
    assert "other --seed;" in CliRunner().invoke(main, args + ["--split-sizes", "1,1,1", "--seed", "3"]).output
    drums(server, src, out, "--split-sizes", "1,1,1", "--keep-list", str(keep), "--overwrite")
    assert [c for ids in shard_ids(out).values() for c in ids] == ["drum0_1000"] and len(server.log) == fetched
    drums(server, src, out, "--split-sizes", "1,1,1", "--keep-list", str(keep))  # now its own plan: continues


def test_a_download_folder_is_written_by_one_process_at_a_time(server, tmp_path):
    src = write_csv(tmp_path / "s.csv", ['drum0, 1.0, 5.0, "/m/026t6"'])
    out = tmp_path / "d"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom s2sbench.safety.claims import DirLock\n"
                               f"with DirLock({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(src), "--out", str(out),
                                        "--url-template", server.url + "/{ytid}.mp4", *FAST])
        assert res.exit_code == 1 and res.output.strip().splitlines()[-1] == (
            f"Error: {out}: this download folder is in use by another s2sbench process (pid {holder.pid}); "
            "wait for it to finish or stop it, or choose another directory")
        assert len(server.log) == 0 and not (out / "state").exists()
    finally:
        holder.kill()
        holder.wait()
    drums(server, src, out)  # the holder died: its lock went with it


def test_painting_playlist_and_file_urls(www, server, tmp_path):
    feed = ("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>paint</title><link>x</link>"
            "<description>x</description>" + "".join(
                f"<item><title>{n}</title><link>{server.url}/{n}.mp4</link>"
                f"<enclosure url=\"{server.url}/{n}.mp4\" type=\"video/mp4\" length=\"1\"/></item>"
                for n in ("drum3", "drum4")) + "</channel></rss>")
    (www / "feed.xml").write_text(feed)
    out = tmp_path / "p"
    res = CliRunner().invoke(main, ["download", "youtube-painting", "--playlist", server.url + "/feed.xml",
                                    "--out", str(out), "--margin", "0.5", "--max-per-video", "2", *FAST])
    assert res.exit_code == 0, res.output
    assert {k: v["status"] for k, v in manifest(out).items()} == {
        "drum3_500": "ok", "drum3_3500": "ok", "drum4_500": "ok", "drum4_3500": "ok"}  # 7 s videos: 2 windows
    ids = shard_ids(out)
    videos = {s: {c.rsplit("_", 1)[0] for c in v} for s, v in ids.items()}
    assert sum(map(len, ids.values())) == 4
    assert all(not (videos[a] & videos[b]) for a in videos for b in videos if a != b)
    out2 = tmp_path / "f"  # file:// URLs (yt-dlp's enable_file_urls): fetched whole, cut by our decode
    res = CliRunner().invoke(main, ["download", "audioset-drums", "--segments",
                                    str(write_csv(tmp_path / "s.csv", ['drum5, 2.0, 6.0, "/m/026t6"'])),
                                    "--out", str(out2), "--url-template", f"file://{www}/{{ytid}}.mp4", *FAST])
    assert res.exit_code == 0, res.output
    assert manifest(out2)["drum5_2000"]["status"] == "ok"


def test_format_choice_prefers_360p_30fps_landscape_and_portrait(www, server):
    """YouTube-like DASH menus: the chosen video stream is <= 360 px on its short side and <= 30 fps."""
    import yt_dlp

    from s2sbench.download.fetch import FetchConfig, _ydl_options

    def mpd(sizes):
        reps = "".join(f'<Representation id="v{i}" codecs="avc1.4d401e" width="{w}" height="{h}" frameRate="{f}" '
                       f'bandwidth="{w * h}"><BaseURL>v{i}.mp4</BaseURL></Representation>'
                       for i, (w, h, f) in enumerate(sizes))
        return ('<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
                'mediaPresentationDuration="PT60S"><Period><AdaptationSet mimeType="video/mp4">' + reps +
                '</AdaptationSet><AdaptationSet mimeType="audio/mp4"><Representation id="a" codecs="mp4a.40.2" '
                'bandwidth="128000"><BaseURL>a.m4a</BaseURL></Representation></AdaptationSet></Period></MPD>')

    menus = {"land": [(1920, 1080, 60), (1280, 720, 60), (1280, 720, 30), (854, 480, 30), (640, 360, 60),
                      (640, 360, 30), (426, 240, 30), (256, 144, 30)],
             "portrait": [(1080, 1920, 30), (720, 1280, 60), (360, 640, 30), (240, 426, 30), (144, 256, 30)],
             "only60": [(1280, 720, 60), (640, 360, 60), (320, 180, 60)]}
    cfg = FetchConfig()
    got = {}
    for name, sizes in menus.items():
        (www / f"{name}.mpd").write_text(mpd(sizes))
        with yt_dlp.YoutubeDL({**_ydl_options(www, None, cfg), "simulate": True}) as ydl:
            info = ydl.extract_info(f"{server.url}/{name}.mpd", download=False)
        v = info["requested_formats"][0]
        got[name] = (v["width"], v["height"], v["fps"])
    assert got == {"land": (640, 360, 30), "portrait": (360, 640, 30), "only60": (640, 360, 60)}


def test_bad_csv_is_one_error_line(tmp_path):
    res = CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(tmp_path / "none.csv"),
                                    "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"Error: {tmp_path / 'none.csv'}: segment CSV not found"]


@pytest.mark.slow
def test_sigkill_and_resume_gives_the_same_shards(server, tmp_path):
    rows = [f'drum{i}, 1.0, 7.0, "/m/026t6"' for i in range(6)]  # two clips each
    rows += ['sync, 1.0, 5.0, "/m/026t6"', 'frozen, 1.0, 5.0, "/m/026t6"', 'nothere, 1.0, 5.0, "/m/026t6"']
    src = write_csv(tmp_path / "s.csv", rows)
    args = ["download", "audioset-drums", "--segments", str(src), "--url-template", server.url + "/{ytid}.mp4",
            *FAST, "--clips-per-segment", "2", "--split-sizes", "6,3,3", "--clips-per-shard", "3"]
    ref = tmp_path / "ref"
    assert CliRunner().invoke(main, [*args, "--out", str(ref)]).exit_code == 0
    out = tmp_path / "killed"
    path = os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    for states_before_kill in (1, 4):
        proc = subprocess.Popen([sys.executable, "-m", "s2sbench", *args, "--out", str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "state").glob("*.json"))) >= states_before_kill:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(list((out / "state").glob("*.json"))) < 9  # really interrupted
    assert CliRunner().invoke(main, [*args, "--out", str(out)]).exit_code == 0
    a, b = ShardIndex.load(ref / "shards"), ShardIndex.load(out / "shards")
    assert a.shards == b.shards and len(a.shards) >= 3 and b.verify(out / "shards") == []
    assert (out / "manifest.csv").read_bytes() == (ref / "manifest.csv").read_bytes()
    # killed after a fetch finished but before its state was committed: fetch.json is reused, attempts still counted
    for key in ("drum0", "drum3"):
        (out / "state" / f"{key}.json").unlink()
    before = len(server.log)
    assert CliRunner().invoke(main, [*args, "--out", str(out)]).exit_code == 0
    assert len(server.log) == before and (out / "manifest.csv").read_bytes() == (ref / "manifest.csv").read_bytes()
    ids = [c for v in shard_ids(out).values() for c in v]
    assert len(ids) == len(set(ids)) == b.source["obtained_clips"] == 13
    assert sorted(p.name for p in (out / "shards").iterdir()) == sorted(p.name for p in (ref / "shards").iterdir())


@pytest.mark.network
def test_real_youtube_segment(tmp_path):
    """Needs the internet, yt-dlp-ejs and deno (pip install -e '.[youtube]'); skipped by default."""
    src = write_csv(tmp_path / "s.csv", ['jNQXAC9IVRw, 1.000, 11.000, "/m/026t6"'])  # "Me at the zoo", 19 s
    res = CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(src), "--out", str(tmp_path / "o"),
                                    "--quiet", "--workers", "1", "--split-sizes", "1,0,0"])
    assert res.exit_code == 0, res.output
    assert manifest(tmp_path / "o")["jNQXAC9IVRw_1000"]["status"] == "ok", manifest(tmp_path / "o")


@pytest.mark.network
def test_real_youtube_playlist_listing():
    from s2sbench.generators.youtube_painting import PAPER_PLAYLIST, list_playlist

    entries = list_playlist(PAPER_PLAYLIST)
    assert entries and all(e.url.startswith("https://www.youtube.com/watch?v=") for e in entries)
