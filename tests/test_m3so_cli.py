"""The data commands through click's CliRunner: make-m3so, verify, info, preview, fetch-mnist, demo."""
import gzip
import hashlib
import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.cli.demo import DEMO_MODEL
from s2sbench.data.shards import ShardIndex
from s2sbench.models import MODELS
from s2sbench.report.results import RunResult, is_reference


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)


@pytest.fixture(scope="module")
def nb(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "nb"
    r = run("make-m3so", "--variant", "nb", "--n", 16, "--n-test", 5, "--clips-per-shard", 6, "--workers", 1,
            "--out", root, "--quiet")
    assert r.exit_code == 0, r.output
    assert f"wrote and verified {root}" in r.output and "train       16 clips in   3 shard(s)" in r.output
    return root


def test_verify_and_info(nb):
    r = run("verify", nb)
    assert r.exit_code == 0 and f"ok {nb}: 5 shard(s), 23 clips verified" in r.output
    r = run("info", nb)
    assert r.exit_code == 0
    assert f"index sha256: {ShardIndex.load(nb).digest()}" in r.output
    assert "variant nb" in r.output and "25 frames of 48x48x1 at 10 fps" in r.output
    assert "val          2 clips" in r.output


def test_verify_fails_on_a_flipped_byte(nb, tmp_path):
    copy = tmp_path / "nb"
    shutil.copytree(nb, copy)
    shard = copy / "train-00001.h5"
    data = bytearray(shard.read_bytes())
    data[-100] ^= 0xFF
    shard.write_bytes(bytes(data))
    r = run("verify", copy)
    assert r.exit_code == 1
    assert f"{shard}: sha256 mismatch" in r.output and f"Error: {copy}: 1 problem(s) in 5 shard(s)" in r.output
    r = run("verify", tmp_path)
    assert r.exit_code == 1 and "no index.json here" in r.output


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_preview(nb, tmp_path, suffix):
    out = tmp_path / f"x{suffix}"
    r = run("preview", nb, "--split", "test", "--index", 3, "--out", out)
    assert r.exit_code == 0 and f"wrote {out} (m3so-nb/test/000003: 25 frames, 2.5 s, digit" in r.output
    assert out.stat().st_size > 1000
    if shutil.which("ffprobe"):
        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(out)],
                                          capture_output=True, text=True, check=True).stdout)
        kinds = sorted(s["codec_type"] for s in probe["streams"])
        assert kinds == (["audio", "video"] if suffix == ".mp4" else ["video"])
        video = next(s for s in probe["streams"] if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (192, 192)
    r = run("preview", nb, "--index", 99, "--out", out, "--overwrite")
    assert r.exit_code == 1 and "Error: --index 99: split 'test' of" in r.output and "has clips 0..4" in r.output


def test_bad_options_give_one_clear_error(tmp_path):
    r = run("make-m3so", "--variant", "big")
    assert r.exit_code == 2 and "Invalid value for '--variant'" in r.output
    r = run("make-m3so", "--n", 0)
    assert r.exit_code == 2 and "Invalid value for '--n'" in r.output
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    r = run("make-m3so", "--n", 8, "--out", afile, "--quiet")
    assert r.exit_code == 1 and f"Error: {afile}: --out exists and is not a directory; choose another --out" in r.output
    r = run("make-m3so", "--n", 8, "--out", afile / "sub", "--quiet")
    assert r.exit_code == 1 and f"Error: {afile / 'sub'}: --out is not writable" in r.output
    r = run("make-m3so", "--n", 8, "--mnist", tmp_path / "nope", "--out", tmp_path / "o", "--quiet")
    assert r.exit_code == 1 and "--mnist must be a directory" in r.output
    assert afile.read_text() == "x" and not (tmp_path / "o").exists()


def test_default_output_dir_follows_s2sbench_data(tmp_path):
    r = run("make-m3so", "--variant", "nb", "--n", 8, "--n-val", 1, "--n-test", 1, "--quiet",
            env={"S2SBENCH_DATA": str(tmp_path)})
    assert r.exit_code == 0 and (tmp_path / "m3so-nb" / "index.json").exists()
    assert ShardIndex.load(tmp_path / "m3so-nb").splits() == {"train": 8, "val": 1, "test": 1}


def test_fetch_mnist_with_a_local_mirror(tmp_path, monkeypatch):
    import s2sbench.generators.mnist_fetch as fetch

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    payload = gzip.compress(b"labels")
    (mirror / "t.gz").write_bytes(payload)
    monkeypatch.setattr(fetch, "MNIST_ARCHIVES", {"t.gz": (len(payload), hashlib.sha256(payload).hexdigest())})
    r = run("fetch-mnist", tmp_path / "dest", "--mirror", mirror.as_uri() + "/")
    assert r.exit_code == 0 and f"ok {tmp_path / 'dest' / 't.gz'}" in r.output
    (mirror / "t.gz").write_bytes(payload[:-1])
    r = run("fetch-mnist", tmp_path / "dest2", "--mirror", mirror.as_uri() + "/")
    assert r.exit_code == 1 and "Error:" in r.output and "does not match the published" in r.output
    assert list((tmp_path / "dest2").iterdir()) == []


def test_demo_makes_then_reuses_its_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"S2SBENCH_DATA": "data"}
    r = run("demo", "--n", 24, "--budget", 1, env=env)
    assert r.exit_code == 0, r.output
    assert "generating M3SO-NB (24/3/3 clips" in r.output and "index sha256:" in r.output
    refs = [m for m in MODELS.keys() if is_reference(m)]
    assert sorted(p.name for p in (tmp_path / "runs" / "demo").iterdir()) == sorted(
        [f"{m}-demo" for m in [DEMO_MODEL, *refs]] + [f"m3so-nb-demo-test-00000{i}.mp4" for i in range(3)])
    trained = RunResult.load(tmp_path / "runs" / "demo" / f"{DEMO_MODEL}-demo")
    assert trained.train["steps"] >= 1 and trained.train["stopped"].startswith("CPU budget")  # a real model, trained
    summary = r.output[r.output.index("Results on 3 m3so-nb test clips"):]
    assert f"{DEMO_MODEL} (trained {trained.train['steps']} steps)" in summary and "What the numbers mean" in summary
    assert all(f"{m} (reference)" in summary and f"  {m}: " in summary for m in refs)
    r = run("demo", "--n", 24, "--budget", 1, env=env)
    assert r.exit_code == 0 and "using the existing M3SO-NB set in data/m3so-nb-demo (verified)" in r.output
    assert not (tmp_path / "data" / "m3so-nb").exists()  # the full default location is never a demo subset
