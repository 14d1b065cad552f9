"""End to end: `s2sbench run --model copy_last --preset smoke`, its outputs checked by independent routes, then
`evaluate`, `tables`, `plots` and `leaderboard build` (byte-stable) on the result."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from s2sbench.cli import main
from s2sbench.data.loader import ClipDataset
from s2sbench.data.shards import ShardIndex
from s2sbench.eval.block import box_iou
from s2sbench.eval.samples import read_samples
from s2sbench.hostinfo import cpu_flags, cpu_name
from s2sbench.report.results import RunResult
from s2sbench.testing import write_fake_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def nb_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    write_fake_dataset(tmp / "nb", "m3so-nb", {"train": 16, "val": 8, "test": 20})
    res = CliRunner().invoke(main, ["run", "--model", "copy_last", "--dataset", "m3so-nb", "--preset", "smoke",
                                    "--data", str(tmp / "nb"), "--out", str(tmp / "runs" / "cl"), "--quiet"])
    assert res.exit_code == 0, res.output
    return tmp, res.output


def test_run_writes_a_complete_result(nb_run):
    tmp, output = nb_run
    assert "  6*" in output and "avg" in output  # the per-frame table, paper frames starred
    r = RunResult.load(tmp / "runs" / "cl")
    assert (r.model, r.dataset, r.split, r.preset, r.seed) == ("copy_last", "m3so-nb", "test", "smoke", 0)
    assert (r.n_past, r.n_future, r.n_samples, r.clips_used, r.clips_available) == (5, 20, 10, 16, 20)
    assert r.data_sha256 == ShardIndex.load(tmp / "nb").digest() and r.data_root == str(tmp / "nb")
    assert r.sampling.startswith("deterministic") and (r.train["steps"], r.train["best_step"]) == (0, 0)  # no training
    assert set(r.scores) == {"best_per_frame", "best_sequence", "mean"}
    assert all(len(r.scores[p][m]["curve"]) == 20 for p in r.scores for m in r.scores[p])
    assert r.code_version and r.hardware["device"] == "cpu" and r.wall_time_s > 0 and r.config == {}
    assert r.hardware["cpu"] == cpu_name() and r.hardware["cpu"] not in ("", "unknown")
    assert (tmp / "runs" / "cl" / "grid.gif").stat().st_size > 1000


def test_scores_match_scikit_image_computed_directly(nb_run):
    """copy_last predicts the last seen frame: score that with scikit-image, clip by clip, and compare."""
    tmp, _ = nb_run
    r = RunResult.load(tmp / "runs" / "cl")
    ds = ClipDataset(tmp / "nb", "test")
    ssims, psnrs = [], []
    for i in range(16):
        f = ds.clip(i).frames[..., 0].astype(np.float64) / 255  # (T, H, W)
        ssims.append([structural_similarity(f[4], f[t], data_range=2.0) for t in range(5, 25)])
        psnrs.append([min(peak_signal_noise_ratio(f[t], f[4], data_range=1.0), 100.0) for t in range(5, 25)])
    for p in ("best_per_frame", "best_sequence", "mean"):  # identical for a deterministic model
        np.testing.assert_allclose(r.scores[p]["ssim_paper"]["curve"], np.mean(ssims, 0), atol=1e-5)
        np.testing.assert_allclose(r.scores[p]["psnr"]["curve"], np.mean(psnrs, 0), atol=1e-4)
    assert r.at_frame("best_per_frame", "ssim_paper", 6) == pytest.approx(np.mean(ssims, 0)[0], abs=1e-5)


def test_samples_h5_contract(nb_run):
    tmp, _ = nb_run
    s = read_samples(tmp / "runs" / "cl" / "samples.h5")
    ds = ClipDataset(tmp / "nb", "test")
    assert s["frames"].dtype == np.uint8 and s["frames"].shape == (16, 20, 48, 48, 1)
    assert s["index"].dtype == np.int64 and s["index"].tolist() == list(range(16))
    assert s["ids"] == [ds.clip(i).id for i in range(16)]
    assert {k: s["attrs"][k] for k in ("model", "dataset", "split", "n_past", "n_future")} == \
        {"model": "copy_last", "dataset": "m3so-nb", "split": "test", "n_past": 5, "n_future": 20}
    assert s["attrs"]["data_root"] == str(tmp / "nb")
    for i in (0, 7):  # the best (only) sample repeats the last seen frame
        assert (s["frames"][i] == ds.clip(i).frames[4][None]).all()


def test_evaluate_tables_plots_and_byte_stable_leaderboard(nb_run, tmp_path):
    tmp, _ = nb_run
    cli = CliRunner()
    res = cli.invoke(main, ["evaluate", str(tmp / "runs" / "cl" / "best.pt"), "--data", str(tmp / "nb"),
                            "--out", str(tmp / "runs" / "cl-eval"), "--seed", "1", "--set", "eval.n_clips=4",
                            "--quiet"])
    assert res.exit_code == 0, res.output
    ev = RunResult.load(tmp / "runs" / "cl-eval")
    assert ev.clips_used == 4 and ev.preset == "smoke" and ev.eval["preset"] == "smoke"
    assert ev.train == RunResult.load(tmp / "runs" / "cl").train  # the run's training summary (here: not trained)
    res = cli.invoke(main, ["evaluate", str(tmp / "runs" / "cl" / "best.pt"), "--data", str(tmp / "nb"),
                            "--preset", "board", "--set", "eval.n_clips=2", "--set", "eval.n_samples=2", "--set",
                            "eval.learned_metrics=false", "--out", str(tmp_path / "board-eval"), "--quiet"])
    assert res.exit_code == 0, res.output
    ev = RunResult.load(tmp_path / "board-eval")  # the row names the training budget, not the evaluation's preset
    assert (ev.preset, ev.eval["preset"], ev.n_samples) == ("smoke", "board", 2)
    res = cli.invoke(main, ["run", "--model", "copy_last", "--dataset", "m3so-nb", "--checkpoint",
                            str(tmp / "runs" / "cl" / "best.pt"), "--data", str(tmp / "nb"), "--set", "eval.n_clips=2",
                            "--out", str(tmp_path / "from-ckpt"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert RunResult.load(tmp_path / "from-ckpt").train is None and not (tmp_path / "from-ckpt" / "last.pt").exists()

    res = cli.invoke(main, ["tables", str(tmp / "runs"), "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "t" / "table1.md").read_text()
    assert "| reference: copy_last (smoke; clips 16) | V |" in md and "| reference: copy_last (smoke; clips 4) | V |" in md
    assert "| paper: Our Method | M | **0.9575** |" in md
    assert r"\textbf{0.9575}" in (tmp_path / "t" / "table1.tex").read_text()
    assert "paper,Our Method,M,best_per_frame,ssim_paper,6,0.9575,1" in (tmp_path / "t" / "table1.csv").read_text()

    res = cli.invoke(main, ["plots", str(tmp / "runs"), "--out", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "p" / "m3so-nb_curves.png").read_bytes()[:4] == b"\x89PNG"

    for d in ("lb1", "lb2"):
        assert cli.invoke(main, ["leaderboard", "build", str(tmp / "runs"), "--out", str(tmp_path / d)]).exit_code == 0
    shutil.copytree(tmp / "runs" / "cl-eval", tmp_path / "other" / "a")  # other paths and order: same bytes
    shutil.copytree(tmp / "runs" / "cl", tmp_path / "other" / "b")
    res = cli.invoke(main, ["leaderboard", "build", str(tmp_path / "other"), "--out", str(tmp_path / "lb3")])
    assert res.exit_code == 0
    a, b, c = ((tmp_path / d / "m3so-nb.csv").read_bytes() for d in ("lb1", "lb2", "lb3"))
    assert a == b == c
    lines = a.decode().splitlines()
    assert lines[0].startswith("model,reference,modality,uses_audio,stochastic,preset,protocol,ssim_variant")
    assert len(lines) == 1 + 2 * 3 * 2  # 2 runs (16 and 4 clips) x 3 protocols x 2 SSIM variants
    header, r = lines[0].split(","), RunResult.load(tmp / "runs" / "cl")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    assert [(x["protocol"], x["ssim_variant"]) for x in rows[::2]] == [
        ("best_per_frame", "ssim_paper"), ("best_per_frame", "ssim"), ("best_sequence", "ssim_paper"),
        ("best_sequence", "ssim"), ("mean", "ssim_paper"), ("mean", "ssim")]
    row = next(x for x in rows
               if (x["clips"], x["protocol"], x["ssim_variant"]) == ("16", "best_sequence", "ssim"))
    assert row["ssim_fr15"] == f"{r.at_frame('best_sequence', 'ssim', 15):.4f}"
    assert row["psnr_avg"] == f"{r.scores['best_sequence']['psnr']['avg']:.2f}" and row["seeds"] == "0"
    shown = cli.invoke(main, ["leaderboard", "show", "m3so-nb", "--dir", str(tmp_path / "lb1")])
    assert shown.exit_code == 0 and "copy_last" in shown.output


def test_block_iou_on_m3so_matches_the_known_boxes(tmp_path):
    write_fake_dataset(tmp_path / "m3so", "m3so", {"train": 8, "val": 4, "test": 6})
    res = CliRunner().invoke(main, ["run", "--model", "copy_last", "--dataset", "m3so",
                                    "--data", str(tmp_path / "m3so"), "--out", str(tmp_path / "run"), "--quiet",
                                    "--set", "eval.n_samples=2", "--set", "train.steps=2"])
    assert res.exit_code == 0, res.output
    r = RunResult.load(tmp_path / "run")
    ds = ClipDataset(tmp_path / "m3so", "test")
    expect = []  # copy_last's final frame is seen frame 30: its only bright object is the moving 8x8 square
    for i in range(6):
        meta = ds.clip(i).meta
        x, y = meta["positions"][29]
        expect.append(float(box_iou(np.array([x, y, x + 8, y + 8]), np.array(meta["block"]["box"]))))
    assert r.block_iou is None and r.final("best_per_frame", "block_iou") == pytest.approx(np.mean(expect))
    assert r.scores["best_per_frame"]["block_iou"]["curve"][-1] == r.final("best_per_frame", "block_iou")


def test_missing_data_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("S2SBENCH_DATA", str(tmp_path))
    res = CliRunner().invoke(main, ["run", "--model", "copy_last", "--dataset", "audioset-drums"])
    assert res.exit_code == 1 and "s2sbench download audioset-drums" in res.output
    calls = []

    def fake_make(out, variant, seed, progress):  # stands in for s2sbench.generators.m3so.make_m3so
        calls.append((str(out), variant))
        write_fake_dataset(out, "m3so-nb", {"train": 16, "val": 8, "test": 4})

    monkeypatch.setitem(sys.modules, "s2sbench.generators.m3so", types.SimpleNamespace(make_m3so=fake_make))
    res = CliRunner().invoke(main, ["run", "--model", "copy_last", "--dataset", "m3so-nb", "--quiet",
                                    "--out", str(tmp_path / "r"), "--set", "eval.n_samples=2"])
    assert res.exit_code == 0, res.output
    assert "generating the embedded default" in res.output and calls == [(str(tmp_path / "m3so-nb"), "nb")]
    assert json.loads((tmp_path / "r" / "result.json").read_text())["clips_used"] == 4


def test_leaderboard_run_runs_each_missing_run_once(tmp_path):
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"train": 16, "val": 8, "test": 4})
    args = ["leaderboard", "run", "--runs", str(tmp_path / "runs"), "--preset", "smoke", "--dataset", "m3so-nb",
            "--model", "copy_last", "--seed", "0", "--seed", "1", "--jobs", "2", "--data", f"m3so-nb={tmp_path / 'nb'}"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "0 of 2 runs already done; running 2 (2 at a time, 1 torch thread(s) each)" in res.output
    for seed in (0, 1):
        r = RunResult.load(tmp_path / "runs" / "m3so-nb" / f"copy_last-smoke-seed{seed}")
        assert (r.seed, r.preset, r.hardware["torch_threads"]) == (seed, "smoke", 1)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "2 of 2 runs already done; running 0" in res.output
    res = CliRunner().invoke(main, args[:-2] + ["--model", "no_such_model"])
    assert res.exit_code != 0 and "no_such_model" in res.output


def test_leaderboard_run_generates_missing_data_once_before_parallel_runs(tmp_path, monkeypatch):
    """Two runs at once on a dataset missing at its default location: the board generates it once, in its own
    process, before either run starts (each run generating it would leave all but one failing on its lock), and
    both runs read it. The runs are subprocesses, so only the board's own generation sees the stand-in."""
    monkeypatch.setenv("S2SBENCH_DATA", str(tmp_path / "data"))
    calls = []

    def fake_make(out, variant, seed, progress):  # stands in for s2sbench.generators.m3so.make_m3so
        calls.append((str(out), variant))
        write_fake_dataset(out, "m3so-nb", {"train": 16, "val": 8, "test": 4})

    monkeypatch.setitem(sys.modules, "s2sbench.generators.m3so", types.SimpleNamespace(make_m3so=fake_make))
    res = CliRunner().invoke(main, ["leaderboard", "run", "--runs", str(tmp_path / "runs"), "--preset", "smoke",
                                    "--dataset", "m3so-nb", "--model", "copy_last", "--seed", "0", "--seed", "1",
                                    "--jobs", "2"])
    assert res.exit_code == 0, res.output
    assert calls == [(str(tmp_path / "data" / "m3so-nb"), "nb")]
    for seed in (0, 1):
        r = RunResult.load(tmp_path / "runs" / "m3so-nb" / f"copy_last-smoke-seed{seed}")
        assert r.clips_used == 4 and r.seed == seed


def test_cpu_name_and_flags_read_the_first_cpus_lines(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\n"
                    "model name\t: AMD EPYC  7B13 64-Core Processor\n"
                    "flags\t\t: fpu avx512_bf16\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n")
    assert cpu_name(str(info)) == "AMD EPYC 7B13 64-Core Processor"
    assert cpu_name(str(tmp_path / "absent")) not in ("", "unknown")  # platform's name where there is no cpuinfo
    assert cpu_flags(str(info)) == {"fpu", "avx512_bf16"} and cpu_flags(str(tmp_path / "absent")) == set()


def test_leaderboard_run_checks_its_data_before_any_run(tmp_path):
    res = CliRunner().invoke(main, ["leaderboard", "run", "--runs", str(tmp_path / "runs"), "--preset", "smoke",
                                    "--dataset", "m3so-nb", "--model", "copy_last", "--data",
                                    f"m3so-nb={tmp_path / 'nowhere'}"])
    assert res.exit_code == 1 and "--data does not exist" in res.output
    assert not (tmp_path / "runs").exists()  # no run directory was made


def test_score_constant_script_matches_the_evaluator_on_copy_last(nb_run):
    """scripts/score_constant.py scores copy_last by its own route; its column equals the run's curve (16 clips)."""
    tmp, _ = nb_run
    r = RunResult.load(tmp / "runs" / "cl")
    script = Path(__file__).resolve().parents[1] / "scripts" / "score_constant.py"
    out = subprocess.run([sys.executable, str(script), str(tmp / "nb"), "--dataset", "m3so-nb", "--clips", "16"],
                         capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(6, 26))
    curve = r.scores["best_per_frame"]["ssim_paper"]["curve"]
    assert [float(row[2]) for row in rows] == pytest.approx(curve, abs=1e-4)
    black = [float(row[1]) for row in rows]
    assert all(0 < b < 1 for b in black) and black != pytest.approx([float(row[2]) for row in rows], abs=1e-3)


def test_evaluate_defaults_to_the_runs_seed_and_reproduces_its_scores(tmp_path):
    """A stochastic model's run at seed 3, then `evaluate best.pt` with no --seed: the result records seed 3 and
    repeats the run's own evaluation exactly (same samples; the checkpoint records the seed)."""
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"train": 8, "val": 4, "test": 6})
    sets = ["--set", "eval.n_clips=4", "--set", "eval.n_samples=3", "--set", "eval.batch_clips=2"]
    res = CliRunner().invoke(main, ["run", "--model", "svg_lp", "--dataset", "m3so-nb", "--preset", "smoke", "--seed",
                                    "3", "--data", str(tmp_path / "nb"), "--out", str(tmp_path / "run"), "--quiet",
                                    *sets])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["evaluate", str(tmp_path / "run" / "best.pt"), "--data", str(tmp_path / "nb"),
                                    "--out", str(tmp_path / "ev"), "--quiet", *sets])
    assert res.exit_code == 0, res.output
    run, ev = RunResult.load(tmp_path / "run"), RunResult.load(tmp_path / "ev")
    assert run.stochastic and (run.seed, ev.seed) == (3, 3)
    assert ev.scores == run.scores
    assert ev.train == run.train and ev.train["best_step"] > 0  # the training summary comes with the checkpoint


def test_evaluate_carries_the_training_summary_only_of_the_run_that_saved_the_checkpoint(tmp_path):
    """`evaluate RUN/best.pt` keeps RUN's training summary (best_step, select_on, steps); the same file copied to a
    directory without its run's result.json, or next to another seed's result, is evaluated with train = None."""
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"train": 8, "val": 4, "test": 6})
    sets = ["--set", "eval.n_clips=2", "--set", "eval.n_samples=2", "--set", "eval.batch_clips=2",
            "--set", "eval.metrics=ssim_paper"]
    runs = {}
    for seed in (0, 1):
        res = CliRunner().invoke(main, ["run", "--model", "svg_lp", "--dataset", "m3so-nb", "--preset", "smoke",
                                        "--seed", str(seed), "--data", str(tmp_path / "nb"), "--out",
                                        str(tmp_path / f"run{seed}"), "--quiet", *sets])
        assert res.exit_code == 0, res.output
        runs[seed] = RunResult.load(tmp_path / f"run{seed}")
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(tmp_path / "run0" / "best.pt", lone / "best.pt")
    shutil.copy(tmp_path / "run0" / "best.pt", tmp_path / "run1" / "seed0.pt")
    evaluated = {}
    for name, ckpt in [("same", tmp_path / "run0" / "best.pt"), ("lone", lone / "best.pt"),
                       ("other", tmp_path / "run1" / "seed0.pt")]:
        res = CliRunner().invoke(main, ["evaluate", str(ckpt), "--data", str(tmp_path / "nb"), "--out",
                                        str(tmp_path / f"ev-{name}"), "--quiet", *sets])
        assert res.exit_code == 0, res.output
        evaluated[name] = RunResult.load(tmp_path / f"ev-{name}").train
    assert evaluated["same"] == runs[0].train and evaluated["same"]["steps"] > 0
    assert evaluated["lone"] is None and evaluated["other"] is None
