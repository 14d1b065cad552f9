"""Issue #15 on `s2sbench run` / `evaluate`: finished work is never replaced without a flag, and bad input is one
`Error:` line before any compute (docs/design.md, safety)."""
from __future__ import annotations

import os
import stat
import sys
import types
from pathlib import Path

import pytest
import torch
from _run_fixtures import FAST, fake_datasets, one_error
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.report.results import RunResult
from s2sbench.testing import write_fake_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return fake_datasets(tmp_path_factory.mktemp("safety"))


def invoke(*args: str):
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res, res.output.strip().splitlines()


def tiny_run(data: Path, out: Path, *extra: str):
    return invoke("run", "--model", "testing_tiny", "--dataset", "m3so-nb", "--data", data / "nb", "--out", out,
                  *FAST, *extra)


def test_run_dir_with_a_checkpoint_needs_resume_or_overwrite(data, tmp_path):
    out = tmp_path / "run"
    res, _ = tiny_run(data, out)
    assert res.exit_code == 0, res.output
    last = (out / "last.pt").read_bytes()
    res, _ = tiny_run(data, out)
    one_error(res, "--resume", "--overwrite", str(out))
    assert (out / "last.pt").read_bytes() == last  # untouched
    res, _ = tiny_run(data, out, "--resume", "--set", "train.steps=3")
    assert res.exit_code == 0, res.output
    assert RunResult.load(out).train["resumed_from"] == 2
    res, _ = tiny_run(data, out, "--overwrite")
    assert res.exit_code == 0 and RunResult.load(out).train["resumed_from"] is None


def test_resume_without_a_checkpoint_is_an_error(data, tmp_path):
    res, _ = tiny_run(data, tmp_path / "fresh", "--resume")
    one_error(res, "last.pt", "no checkpoint", "--resume")


def test_evaluate_does_not_replace_a_result(data, tmp_path):
    out = tmp_path / "run"
    assert tiny_run(data, out)[0].exit_code == 0
    res, _ = invoke("evaluate", out / "best.pt", "--data", data / "nb", "--preset", "smoke", *FAST)
    one_error(res, "result.json", "--overwrite")
    res, _ = invoke("evaluate", out / "best.pt", "--data", data / "nb", "--preset", "smoke", "--overwrite", *FAST)
    assert res.exit_code == 0, res.output


def test_a_locked_run_dir_is_refused(data, tmp_path):
    from s2sbench.safety.claims import DirLock

    with DirLock(tmp_path / "run", "run directory"):
        res, _ = tiny_run(data, tmp_path / "run")
    one_error(res, "in use by another s2sbench process", f"pid {os.getpid()}")


def test_explicit_data_must_exist_and_hold_an_index(data, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "s2sbench.generators.m3so",
                        types.SimpleNamespace(make_m3so=lambda *a, **k: calls.append(a)))
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--data", tmp_path / "typo", *FAST)
    one_error(res, str(tmp_path / "typo"), "does not exist")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "train-00000.h5").write_bytes(b"x")
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--data", tmp_path / "half", *FAST)
    one_error(res, str(tmp_path / "half"), "no index.json", "make-m3so --variant nb")
    assert calls == [] and not (tmp_path / "typo").exists()
    assert (tmp_path / "half" / "train-00000.h5").read_bytes() == b"x"


def test_default_location_is_generated_only_when_empty_and_quietly(data, tmp_path, monkeypatch):
    monkeypatch.setenv("S2SBENCH_DATA", str(tmp_path))
    calls = []

    def fake_make(out, variant, seed, progress):
        calls.append(progress)
        write_fake_dataset(out, "m3so-nb", {"train": 8, "val": 4, "test": 4})

    monkeypatch.setitem(sys.modules, "s2sbench.generators.m3so", types.SimpleNamespace(make_m3so=fake_make))
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--out", tmp_path / "r", *FAST)
    assert res.exit_code == 0 and calls == [False], res.output  # --quiet reaches the generator
    assert "generating the embedded default" in res.output
    (tmp_path / "m3so-nb" / "index.json").unlink()  # e.g. an interrupted make-m3so
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--out", tmp_path / "r2", *FAST)
    one_error(res, "no index.json")
    assert calls == [False]


def test_data_must_be_the_dataset_it_is_said_to_be(data):
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--data", data / "m3so", *FAST)
    one_error(res, "index.json", "m3so data, not m3so-nb", "--dataset m3so")
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so", "--data", data / "nb", *FAST)
    one_error(res, "index.json", "not m3so", "--dataset m3so-nb")


def test_fewer_clips_than_the_preset_warns_and_is_recorded(data, tmp_path):
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--data", data / "nb", "--out",
                    tmp_path / "r", "--set", "eval.n_clips=16", "--set", "eval.n_samples=2", "--quiet")
    assert res.exit_code == 0 and "Warning: evaluated 4 clips, not the 16" in res.output, res.output
    assert RunResult.load(tmp_path / "r").warnings == [next(
        ln for ln in res.output.splitlines() if ln.startswith("Warning:"))[len("Warning: "):]]


@pytest.mark.parametrize("setting, words", [
    ("eval.n_samples=-3", ["n_samples", "-3", ">= 1"]),
    ("hidden=true", ["hidden", "number", "True"]),
    ("train.steps", ["train.steps", "KEY=VALUE"]),
    ("train.batch_size=0", ["batch_size", ">= 1"]),
    ("hidden=-4", ["testing_tiny", "cannot be built", "--set"]),
])
def test_bad_set_values_fail_before_compute(data, tmp_path, setting, words):
    res, _ = invoke("run", "--model", "testing_tiny", "--dataset", "m3so-nb", "--data", data / "nb",
                    "--out", tmp_path / "r", "--quiet", "--set", setting)
    one_error(res, *words)
    assert not (tmp_path / "r" / "last.pt").exists() and not (tmp_path / "r" / "train_log.csv").exists()


def test_usage_errors_exit_2(data):
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--threads", "-1")
    assert res.exit_code == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
@pytest.mark.parametrize("device, words", [("cuda", ["CUDA is not available", "--device cpu"]),
                                           ("gpu", ["'gpu' is not a device", "cuda:N"])])
def test_device_without_cuda_is_one_line(data, tmp_path, device, words):
    res, _ = tiny_run(data, tmp_path / "r", "--device", device)
    one_error(res, *words)


def test_unwritable_out_is_one_line(data, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    bad = tmp_path / "file" / "sub"
    one_error(tiny_run(data, bad)[0], str(tmp_path / "file"))
    one_error(invoke("preview", data / "nb", "--out", bad / "x.gif")[0], str(tmp_path / "file"))


def test_corrupt_checkpoint_is_refused(data, tmp_path):
    out = tmp_path / "run"
    assert tiny_run(data, out)[0].exit_code == 0
    ck = torch.load(out / "best.pt", weights_only=True)
    weight = next(v for v in ck["state_dict"].values() if v.numel() >= 50)
    raw = weight.contiguous().view(torch.uint8).numpy().tobytes()
    blob = bytearray((out / "best.pt").read_bytes())
    at = blob.find(raw[:64])
    assert at > 0
    for i in range(50):
        blob[at + 8 + i] ^= 0xFF
    (out / "best.pt").write_bytes(bytes(blob))
    res, _ = invoke("evaluate", out / "best.pt", "--data", data / "nb", "--out", tmp_path / "ev", *FAST)
    one_error(res, "best.pt", "corrupt", "sha256")


def test_a_corrupt_shard_is_found_before_training(data, tmp_path):
    import shutil

    shutil.copytree(data / "nb", tmp_path / "nb")
    shard = tmp_path / "nb" / "test-00000.h5"
    blob = bytearray(shard.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    shard.write_bytes(bytes(blob))
    res, _ = invoke("run", "--model", "testing_tiny", "--dataset", "m3so-nb", "--data", tmp_path / "nb",
                    "--out", tmp_path / "r", *FAST)
    one_error(res, "test-00000.h5", "sha256", "s2sbench verify")
    assert not (tmp_path / "r" / "last.pt").exists()


def test_outputs_keep_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_fake_dataset(tmp_path / "nb", "m3so-nb", {"train": 8, "val": 4, "test": 4})
        res, _ = invoke("run", "--model", "testing_tiny", "--dataset", "m3so-nb", "--data", tmp_path / "nb",
                        "--out", tmp_path / "r", *FAST)
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    files = [p for p in [*(tmp_path / "nb").iterdir(), *(tmp_path / "r").iterdir()] if p.is_file()]
    names = {p.name for p in files}
    assert {"index.json", "train-00000.h5", "result.json", "samples.h5", "grid.gif", "best.pt", "last.pt"} <= names
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files if not p.name.startswith(".")}
    assert set(modes.values()) == {0o644}, modes


def test_smoke_prints_its_banner(data, tmp_path):
    res, _ = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--data", data / "nb", "--out",
                    tmp_path / "r", *FAST)
    assert res.exit_code == 0 and "smoke" in res.output and "only check that the pipeline works" in res.output


def test_preview_keeps_an_existing_file(data, tmp_path):
    (tmp_path / "x.gif").write_text("mine")
    one_error(invoke("preview", data / "nb", "--out", tmp_path / "x.gif")[0], "x.gif", "--overwrite")
    assert (tmp_path / "x.gif").read_text() == "mine"
