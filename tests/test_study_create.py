"""``study create`` on fixture runs that follow the evaluator's contract: the clips, the recorded left/right order,
the MP4s (H.264 yuv420p + AAC, seen frames framed in blue, each side showing its own run) and the bad-input errors."""
from __future__ import annotations

import json
import subprocess

import h5py
import numpy as np
import pytest
from _study_fixtures import N_FUTURE, N_PAST, make_run, make_runs
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.media import run_ffmpeg
from s2sbench.study import render, store


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return make_runs(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def created(runs, tmp_path_factory):
    _, a, b = runs
    out = tmp_path_factory.mktemp("created") / "study"
    res = CliRunner().invoke(main, ["study", "create", "--a", str(a), "--b", str(b), "--n", "4", "--out", str(out),
                                    "--seed", "5", "--base-url", "http://127.0.0.1:9999"])
    assert res.exit_code == 0, res.output
    return out, res.output


def _decode(path, w, h):
    raw = run_ffmpeg(["-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"])
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def test_pairs_recorded_and_seeded(created, runs):
    out, output = created
    assert "/a/" in output and "admin link" in output
    conn = store.open_study(out)
    pairs, info = store.pairs(conn), store.study_info(conn)
    conn.close()
    assert len(pairs) == 4 and info["a"]["model"] == "model-a" and info["n_past"] == N_PAST
    assert {p["clip_index"] for p in pairs} <= set(range(1, 8))  # clip 0 is only in run A
    assert all(p["clip_id"] == f"clip{p['clip_index']:03d}" for p in pairs)
    rng = np.random.default_rng(5)  # the documented draw: clips without replacement, then one coin per pair
    both = list(range(1, 8))
    assert [p["clip_index"] for p in pairs] == [both[i] for i in rng.choice(7, size=4, replace=False)]
    assert [p["left_run"] for p in pairs] == ["A" if x == 0 else "B" for x in rng.integers(0, 2, size=4)]
    videos = [p["media_left"] for p in pairs] + [p["media_right"] for p in pairs]
    assert sorted(f.name for f in (out / "media").iterdir()) == sorted(
        videos + [v.replace(".mp4", ".png") for v in videos])  # each video and its poster frame


def test_each_video_has_its_first_predicted_frame_as_poster(created):
    out, _ = created
    conn = store.open_study(out)
    pairs = store.pairs(conn)
    conn.close()
    size = 48 * render.default_scale(48, 48) + 4 * render.default_scale(48, 48)
    for p in pairs[:2]:
        for side in ("left", "right"):
            video = out / "media" / p[f"media_{side}"]
            poster = _decode(video.with_suffix(".png"), size, size)  # ffmpeg reads the PNG
            frames = _decode(video, size, size)
            assert poster.shape == (1, size, size, 3)
            assert np.abs(poster[0].astype(int) - frames[N_PAST]).mean() < 3  # H.264 is lossy, the PNG is not
            assert np.abs(poster[0, 1, size // 2].astype(int) - render.GENERATED_RGB).max() < 2  # orange: predicted


def test_videos_play_in_browsers_and_show_the_right_run(created):
    out, _ = created
    conn = store.open_study(out)
    pairs = store.pairs(conn)
    conn.close()
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                            "stream=codec_type,codec_name,pix_fmt,width,height,sample_rate", "-of", "json",
                            str(out / "media" / pairs[0]["media_left"])], capture_output=True, text=True, check=True)
    streams = {s["codec_type"]: s for s in json.loads(probe.stdout)["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["video"]["pix_fmt"] == "yuv420p"
    assert streams["audio"]["codec_name"] == "aac" and streams["audio"]["sample_rate"] == "48000"
    scale = render.default_scale(48, 48)
    size = 48 * scale + 4 * scale
    assert (streams["video"]["width"], streams["video"]["height"]) == (size, size)
    grey = {"A": 200, "B": 120}  # the fixture runs generate flat frames of these values
    for p in pairs[:2]:
        left = _decode(out / "media" / p["media_left"], size, size).astype(int)
        right = _decode(out / "media" / p["media_right"], size, size).astype(int)
        assert left.shape[0] == right.shape[0] == N_PAST + N_FUTURE
        edge = left[:, 1, size // 2]  # a pixel of the top border
        assert np.abs(edge[:N_PAST] - render.SEEN_RGB).max() < 25
        assert np.abs(edge[N_PAST:] - render.GENERATED_RGB).max() < 25
        centre = slice(size // 2 - 20, size // 2 + 20)
        other = "B" if p["left_run"] == "A" else "A"
        assert abs(np.median(left[N_PAST + 2:, centre, centre]) - grey[p["left_run"]]) < 10
        assert abs(np.median(right[N_PAST + 2:, centre, centre]) - grey[other]) < 10
        assert np.abs(left[:N_PAST] - right[:N_PAST]).mean() < 3  # the same seen frames on both sides


def _create(a, b, out, n=2, extra=()):
    return CliRunner().invoke(main, ["study", "create", "--a", str(a), "--b", str(b), "--n", str(n),
                                     "--out", str(out), *extra])


def test_bad_runs_are_one_error_line(runs, tmp_path, created):
    data, a, b = runs
    make_run(tmp_path / "other_split", "m", data, [1, 2], 9, split="val")
    (tmp_path / "no_samples").mkdir()
    (tmp_path / "no_samples" / "result.json").write_text((a / "result.json").read_text())
    make_run(tmp_path / "wrong_ids", "m", data, [1, 2, 3], 9)
    with h5py.File(tmp_path / "wrong_ids" / "samples.h5", "r+") as f:
        del f["ids"]
        f.create_dataset("ids", data=np.array(["x1", "x2", "x3"], dtype=object), dtype=h5py.string_dtype())
    cases = [(a, tmp_path / "other_split", "different split"),
             (a, tmp_path / "no_samples", "no_samples/samples.h5: missing"),
             (a, tmp_path / "nowhere", "nowhere/result.json: missing"),
             (tmp_path / "wrong_ids", a, "clip index 1 is 'x1'"),
             (a, b, "only 7 clips are in both runs")]
    for run_a, run_b, message in cases:
        res = _create(run_a, run_b, tmp_path / "out", n=2 if "only" not in message else 8)
        assert res.exit_code == 1 and message in res.output and res.output.count("\n") == 1, res.output
    res = _create(a, b, created[0])
    assert res.exit_code == 1 and "already exists" in res.output
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))
