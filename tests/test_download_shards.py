"""Scale-out: two hosts (``--shard 1/2``, ``--shard 2/2``) into disjoint folders, merged = one host's dataset."""
from __future__ import annotations

from pathlib import Path

import pytest
from _mediaserver import MediaServer
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.download.merge import in_shard
from s2sbench.download.testvideos import make_test_video

FAST = ["--sleep", "0", "--retries", "1", "--backoff", "0.05", "--quiet", "--workers", "2"]
VIDEOS = [f"v{i}" for i in range(4)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    www = tmp_path_factory.mktemp("shard-www")
    for i, v in enumerate(VIDEOS):
        make_test_video(www / f"{v}.mp4", seconds=5, seed=i)
    with MediaServer(www) as s:
        yield s


def run(server, seg: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, ["download", "audioset-drums", "--segments", str(seg), "--out", str(out),
                                     "--url-template", server.url + "/{ytid}.mp4", "--split-sizes", "2,1,1",
                                     "--clips-per-shard", "2", *FAST, *extra])


def files(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted((d / "shards").iterdir())} | {
        "manifest.csv": (d / "manifest.csv").read_bytes()}


def test_two_shards_merge_into_the_single_host_dataset(server, tmp_path):
    seg = tmp_path / "seg.csv"
    seg.write_text("".join(f'{v}, 1.0, 4.0, "/m/026t6"\n' for v in VIDEOS) + 'gone, 1.0, 4.0, "/m/026t6"\n')
    assert run(server, seg, tmp_path / "one").exit_code == 0
    for i in (1, 2):
        res = run(server, seg, tmp_path / f"host{i}", "--shard", f"{i}/2")
        assert res.exit_code == 0, res.output
    keys = VIDEOS + ["gone"]
    for i in (1, 2):  # disjoint shares by video, together all of them
        done = {p.stem for p in (tmp_path / f"host{i}" / "state").glob("*.json")}
        assert done == {k for k in keys if in_shard(k, (i, 2))}
    assert 0 < len({p.stem for p in (tmp_path / "host1" / "state").glob("*.json")}) < len(keys)
    res = CliRunner().invoke(main, ["download", "merge", str(tmp_path / "host2"), str(tmp_path / "host1"),
                                    "--out", str(tmp_path / "merged")])
    assert res.exit_code == 0, res.output
    assert files(tmp_path / "merged") == files(tmp_path / "one")
    # a folder holding a dataset of other options is replaced only with --overwrite
    assert run(server, seg, tmp_path / "other", "--seed", "5").exit_code == 0
    before = files(tmp_path / "other")
    merge = ["download", "merge", str(tmp_path / "host1"), str(tmp_path / "host2"), "--out", str(tmp_path / "other")]
    res = CliRunner().invoke(main, merge)
    assert res.exit_code == 1 and res.output.strip().splitlines() == [
        f"Error: {tmp_path / 'other'}: holds a finished dataset built with other --seed; pass --overwrite to replace "
        "it (downloaded videos are reused), or choose another --out"]
    assert files(tmp_path / "other") == before
    assert CliRunner().invoke(main, merge + ["--overwrite"]).exit_code == 0
    assert files(tmp_path / "other") == files(tmp_path / "one")
    # a shard given twice, or one missing, is one error line naming the fix
    res = CliRunner().invoke(main, ["download", "merge", str(tmp_path / "host1"), "--out", str(tmp_path / "m2")])
    assert res.exit_code == 1 and res.output.strip().splitlines() == [
        "Error: shards 1/2 given; expected each of 1/2 .. 2/2 exactly once"]
    res = run(server, seg, tmp_path / "x", "--shard", "3/2")
    assert res.exit_code == 1 and "Error: --shard '3/2': expected i/n" in res.output
