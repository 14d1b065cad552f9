"""Issue #26, a researcher's first hour with `s2sbench run`: a checkpoint is refused on another dataset, a download
folder is a dataset folder, Ctrl-C never loses a run or a generation, empty splits and ambiguous leaderboard rows
are refused, a finished run is not re-evaluated by accident; the header, progress bar and closing summary; and
``--config run.toml``."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sys
import types
from pathlib import Path

import pytest
from _run_fixtures import FAST, fake_datasets, one_error
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.models import MODELS
from s2sbench.testing import TinyPredictor, write_fake_dataset
from s2sbench.train.state import read_last

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return fake_datasets(tmp_path_factory.mktemp("first_hour"))


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def tiny(data_dir: Path, out: Path, *extra, dataset="m3so-nb", model="testing_tiny"):
    return invoke("run", "--model", model, "--dataset", dataset, "--data", data_dir, "--out", out, *FAST, *extra)


# defect 1: a checkpoint is refused on another dataset, naming both, before any compute
def test_checkpoint_on_another_dataset_is_one_line(data, tmp_path):
    res = tiny(data / "m3so", tmp_path / "r", dataset="m3so")
    assert res.exit_code == 0, res.output
    best = tmp_path / "r" / "best.pt"
    res = invoke("run", "--model", "testing_tiny", "--dataset", "m3so-nb", "--data", data / "nb", "--checkpoint", best,
                 "--out", tmp_path / "x", *FAST)
    one_error(res, str(best), "m3so", "m3so-nb")
    assert not (tmp_path / "x" / "result.json").exists()
    res = invoke("evaluate", best, "--dataset", "m3so-nb", "--data", data / "nb", "--out", tmp_path / "y", *FAST)
    one_error(res, str(best), "m3so", "m3so-nb")
    res = invoke("run", "--model", "copy_last", "--dataset", "m3so", "--data", data / "m3so", "--checkpoint", best,
                 "--out", tmp_path / "z", *FAST)
    one_error(res, str(best), "testing_tiny", "copy_last")


# defect 2: a download folder (DIR with DIR/shards/index.json) is a dataset folder; an empty one is named as such
def test_run_accepts_a_download_folder(tmp_path, monkeypatch):
    write_fake_dataset(tmp_path / "drums" / "shards", "audioset-drums", {"train": 4, "val": 2, "test": 2})
    for where in (tmp_path / "drums", tmp_path / "drums" / "shards"):
        res = invoke("run", "--model", "copy_last", "--dataset", "audioset-drums", "--data", where,
                     "--out", tmp_path / "r" / where.name, *FAST)
        assert res.exit_code == 0, res.output
    monkeypatch.setenv("S2SBENCH_DATA", str(tmp_path / "default"))
    shutil.copytree(tmp_path / "drums", tmp_path / "default" / "audioset-drums")
    res = invoke("run", "--model", "copy_last", "--dataset", "audioset-drums", "--out", tmp_path / "r" / "d", *FAST)
    assert res.exit_code == 0, res.output


def test_an_empty_dataset_is_named_as_empty(tmp_path):
    from s2sbench.data.datasets import DATASETS
    from s2sbench.data.shards import ShardIndex

    (tmp_path / "drums" / "shards").mkdir(parents=True)  # what a download that obtained nothing leaves
    ShardIndex(DATASETS.get("audioset-drums").spec, [], source={"dataset": "audioset-drums"}).save(
        tmp_path / "drums" / "shards")
    res = invoke("run", "--model", "copy_last", "--dataset", "audioset-drums", "--data", tmp_path / "drums",
                 "--out", tmp_path / "r", *FAST)
    one_error(res, "no clips", "download")


# defect 3: budget runs checkpoint by time, and Ctrl-C saves last.pt, exits 130 and the run resumes
class _Interrupted(TinyPredictor):
    name = "testing_sigint"

    def training_step(self, batch, opt, step):
        logs = super().training_step(batch, opt, step)
        if step == 2:  # Ctrl-C in a terminal reaches the whole process group: the loader's workers too
            for f in Path("/proc/self/task").glob("*/children"):
                for pid in f.read_text().split():
                    os.kill(int(pid), signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        return logs


@pytest.mark.parametrize("workers", [0, 2])
def test_ctrl_c_saves_last_and_resumes(data, tmp_path, workers):
    out = tmp_path / "r"
    with MODELS.registered("testing_sigint", _Interrupted):
        res = tiny(data / "nb", out, "--set", "train.steps=6", "--set", "train.checkpoint_every=100",
                   "--set", "train.val_every=100", "--set", f"train.num_workers={workers}", model="testing_sigint")
        assert res.exit_code == 130, res.output
        assert read_last(out / "last.pt")["step"] == 3
        assert not (out / "result.json").exists()
        res = tiny(data / "nb", out, "--set", "train.steps=6", "--set", "train.checkpoint_every=100",
                   "--set", "train.val_every=100", "--resume", model="testing_tiny")
    assert res.exit_code == 0, res.output
    r = json.loads((out / "result.json").read_text())
    assert r["train"]["steps"] == 6 and r["train"]["resumed_from"] == 3


def test_checkpoint_by_time(data, tmp_path):
    out = tmp_path / "r"
    res = tiny(data / "nb", out, "--set", "train.steps=5", "--set", "train.checkpoint_every=100",
               "--set", "train.checkpoint_minutes=0.000001", "--set", "fail_at_step=3")
    assert res.exit_code == 1 and "failure injected at step 3" in str(res.exception)
    assert read_last(out / "last.pt")["step"] == 3


# defect 4: Ctrl-C in the automatic generation exits 130 and the next `run` resumes it
def test_interrupted_generation_exits_130_and_resumes(tmp_path, monkeypatch):
    import s2sbench.generators.m3so as m3so

    real_make, real_job = m3so.make_m3so, m3so._run_job
    small = dict(n=16, n_val=8, n_test=8, clips_per_shard=4, workers=1)
    calls = {"n": 0}

    class _Bomb:
        def __del__(self):  # Ctrl-C arriving while Python runs a finaliser (h5py, tqdm, a pool's)
            signal.raise_signal(signal.SIGINT)

    def job(j):
        calls["n"] += 1
        if calls["n"] == 2:
            b = _Bomb()
            del b
        return real_job(j)

    def make(out, variant, seed, progress):
        return real_make(out, variant=variant, seed=seed, progress=progress, **small)

    monkeypatch.setattr(m3so, "_run_job", job)
    monkeypatch.setitem(sys.modules, "s2sbench.generators.m3so", types.SimpleNamespace(make_m3so=make))
    monkeypatch.setenv("S2SBENCH_DATA", str(tmp_path / "data"))
    res = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--out", tmp_path / "r", *FAST)
    assert res.exit_code == 130, res.output
    assert "Exception ignored" not in res.output and not (tmp_path / "data" / "m3so-nb" / "index.json").exists()
    assert not (tmp_path / "r" / "result.json").exists()
    res = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--out", tmp_path / "r", *FAST)
    assert res.exit_code == 0, res.output
    assert "resum" in res.output
    ref = real_make(tmp_path / "ref", variant="nb", seed=0, progress=False, **small)
    got = json.loads((tmp_path / "data" / "m3so-nb" / "index.json").read_text())
    assert [s["sha256"] for s in got["shards"]] == [s.sha256 for s in ref.shards]


# defect 5: split sizes that leave a split empty are refused
@pytest.mark.parametrize("sizes", [["--n-val", "0"], ["--n-test", "0"]])
def test_make_m3so_refuses_an_empty_split(tmp_path, sizes):
    res = invoke("make-m3so", "--variant", "nb", "--n", 100, *sizes, "--out", tmp_path / "o", "--quiet")
    one_error(res, sizes[0], "empty")
    assert not (tmp_path / "o").exists()


# defect 6: override runs stay apart on the leaderboard; a finished run is not re-evaluated; a study needs two runs
def test_runs_with_other_overrides_are_other_rows(data, tmp_path):
    for name, steps in (("a", 2), ("b", 3)):
        res = tiny(data / "nb", tmp_path / "runs" / name, "--set", f"train.steps={steps}")
        assert res.exit_code == 0, res.output
    res = invoke("leaderboard", "build", tmp_path / "runs", "--out", tmp_path / "board")
    assert res.exit_code == 0, res.output
    with open(tmp_path / "board" / "m3so-nb.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["protocol"] == "best_per_frame" and r["ssim_variant"] == "ssim_paper"]
    assert sorted(r["seeds"] for r in rows) == ["0", "0"] and len({r["config_sha256"] for r in rows}) == 2


def test_the_same_run_twice_is_refused_by_the_leaderboard(data, tmp_path):
    res = tiny(data / "nb", tmp_path / "runs" / "a")
    assert res.exit_code == 0, res.output
    shutil.copytree(tmp_path / "runs" / "a", tmp_path / "runs" / "copy")
    res = invoke("leaderboard", "build", tmp_path / "runs", "--out", tmp_path / "board")
    one_error(res, "runs/a", "runs/copy", "seed 0")


def test_resume_of_a_finished_run_is_refused(data, tmp_path):
    out = tmp_path / "r"
    assert tiny(data / "nb", out).exit_code == 0
    before = (out / "result.json").read_bytes()
    res = tiny(data / "nb", out, "--resume")
    one_error(res, str(out), "finished", "--overwrite", "train.steps")
    assert (out / "result.json").read_bytes() == before
    res = tiny(data / "nb", out, "--resume", "--set", "train.steps=3")  # longer training: continues
    assert res.exit_code == 0, res.output
    assert json.loads((out / "result.json").read_text())["train"]["steps"] == 3


def test_resume_evaluates_a_longer_leg_stopped_before_its_result(data, tmp_path):
    """A run extended to more steps and stopped while being evaluated keeps the shorter leg's result.json beside the
    longer leg's last.pt: --resume evaluates the longer leg instead of calling the run finished."""
    out = tmp_path / "r"
    assert tiny(data / "nb", out).exit_code == 0
    short = (out / "result.json").read_bytes()
    assert tiny(data / "nb", out, "--resume", "--set", "train.steps=3").exit_code == 0
    (out / "result.json").write_bytes(short)  # as if killed after training to step 3, before the result was written
    res = tiny(data / "nb", out, "--resume", "--set", "train.steps=3")
    assert res.exit_code == 0, res.output
    assert json.loads((out / "result.json").read_text())["train"]["steps"] == 3


def test_study_of_a_run_against_itself_is_refused(data, tmp_path):
    res = tiny(data / "nb", tmp_path / "r")
    assert res.exit_code == 0
    res = invoke("study", "create", "--a", tmp_path / "r", "--b", tmp_path / "r" / ".", "--n", 2, "--out",
                 tmp_path / "s")
    one_error(res, "--a", "--b", "same run")
    assert not (tmp_path / "s").exists()


# orientation: the header before training, the bar in budget units, the CPU warning, the closing summary
def test_header_and_summary(data, tmp_path):
    runs = tmp_path / "runs"
    res = tiny(data / "nb", runs / "tiny", "--set", "train.steps=3")
    assert res.exit_code == 0 and "Summary" not in res.output and "s2sbench run:" not in res.output  # --quiet
    loud = [a for a in FAST if a != "--quiet"]
    res = invoke("run", "--model", "testing_tiny", "--dataset", "m3so-nb", "--data", data / "nb", "--out",
                 runs / "tiny2", *loud)
    assert res.exit_code == 0, res.output
    out = res.output
    for words in ("model      testing_tiny (225 parameters)", "data       m3so-nb at", "sha256", "device     cpu",
                  "budget     2 steps of 8 clips", "output     " + str(runs / "tiny2"), "trained    2 of 2 steps",
                  "stopped: completed", "the lowest val_digit_err", "reference  none beside this run",
                  "--model copy_last", "next       open"):
        assert words in out, (words, out)
    assert out.index("s2sbench run:") < out.index("avg ") < out.index("Summary")
    res = invoke("run", "--model", "copy_last", "--dataset", "m3so-nb", "--data", data / "nb", "--out",
                 runs / "copy_last", *FAST)
    assert res.exit_code == 0, res.output
    res = invoke("run", "--model", "testing_tiny", "--dataset", "m3so-nb", "--data", data / "nb", "--out",
                 runs / "tiny3", *loud)
    assert res.exit_code == 0 and "reference  copy_last (" in res.output, res.output


def test_progress_counts_the_budget_that_stops_the_run():
    from s2sbench.train.budget import NO_STEP_CAP, step_capped
    from s2sbench.train.logs import Progress
    from s2sbench.train.orient import _budget
    from s2sbench.train.presets import PRESETS
    from s2sbench.train.trainer import TrainConfig

    bar = Progress(TrainConfig(steps=3000, cpu_budget_min=10.0), 0, {"wall_s": 0.0, "cpu_s": 0.0}, "t", False)
    bar.update(23, {"wall_s": 62.0, "cpu_s": 62.0}, {"loss": 0.5})
    assert bar.bar.postfix.startswith("1.0/10 CPU min, step 23/3000, ETA 08:58 (CPU budget)"), bar.bar.postfix
    assert bar.bar.n == 103  # 62 of 600 CPU seconds
    assert bar.eta(23, {"wall_s": 62.0, "cpu_s": 62.0}) == pytest.approx(538.0)
    bar.update(23, {"wall_s": 62.0, "cpu_s": 4.0}, None)  # little CPU per wall second: the budget lasts longer
    assert bar.bar.postfix.startswith("step 23/3000, ETA 2:13:45 (steps)"), bar.bar.postfix  # 2977 x 62/23 s
    assert bar.eta(23, {"wall_s": 62.0, "cpu_s": 4.0}) < (600 - 4) * 62 / 4  # before the budget's 9238 s
    bar = Progress(TrainConfig(steps=100), 0, {"wall_s": 0.0, "cpu_s": 0.0}, "t", False)
    bar.update(10, {"wall_s": 5.0, "cpu_s": 5.0}, None)
    assert bar.bar.postfix == "step 10/100, ETA 00:45", bar.bar.postfix
    board = PRESETS.get("board").train  # no step cap: the CPU budget alone stops it, the bar counts steps only
    assert not step_capped(board) and step_capped(TrainConfig(steps=NO_STEP_CAP))  # (no budget: the steps stop it)
    bar = Progress(board, 0, {"wall_s": 0.0, "cpu_s": 0.0}, "t", False)
    bar.update(23, {"wall_s": 62.0, "cpu_s": 62.0}, None)
    assert bar.bar.postfix == "1.0/15 CPU min, step 23, ETA 13:58", bar.bar.postfix
    assert _budget(board).startswith("15 CPU min in steps of 16 clips (no step cap); validation every 50 steps")
    assert _budget(TrainConfig(steps=3000, cpu_budget_min=10.0)).startswith(
        "10 CPU min or 3,000 steps of 16 clips, whichever comes first;")


def test_a_gpu_schedule_on_the_cpu_is_warned_with_the_measured_estimate(data, tmp_path):
    import torch

    from s2sbench.train.orient import cpu_warning
    from s2sbench.train.presets import PRESETS

    cpu = torch.device("cpu")
    assert "72,072 steps" in cpu_warning(PRESETS.get("paper"), cpu) and not cpu_warning(PRESETS.get("quick"), cpu)
    with MODELS.registered("testing_sigint", _Interrupted):  # 100,000 steps of ~0.1 s; Ctrl-C at step 3
        res = tiny(data / "nb", tmp_path / "r", "--set", "train.steps=100000", model="testing_sigint")
    assert res.exit_code == 130
    assert "s per step on the CPU, this run needs about" in res.output and "Ctrl-C saves last.pt" in res.output


# --config run.toml
def test_config_file_with_set_winning_and_the_resolved_config_saved(data, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'dataset = "m3so-nb"\ndata = "{data / "nb"}"\n\n[model]\nname = "testing_tiny"\nhidden = 4\n\n'
                   '[train]\nsteps = 3\nval_every = 1\n\n[eval]\nn_samples = 2\nn_clips = 4\ndiversity_clips = 0\n')
    res = invoke("run", "--config", cfg, "--out", tmp_path / "a", "--set", "train.steps=2", "--quiet")
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "a" / "result.json").read_text())
    assert (r["config"]["hidden"], r["train"]["steps"], r["n_samples"], r["clips_used"]) == (4, 2, 2, 4)
    res = invoke("run", "--config", tmp_path / "a" / "config.toml", "--out", tmp_path / "b", "--quiet")
    assert res.exit_code == 0, res.output
    r2 = json.loads((tmp_path / "b" / "result.json").read_text())
    assert (r2["config"], r2["train"]["config"], r2["scores"]) == (r["config"], r["train"]["config"], r["scores"])
    cfg.write_text('dataset = "m3so-nb"\nmodel = "testing_tiny"\n\n[train]\nstepz = 3\n')
    one_error(invoke("run", "--config", cfg, "--out", tmp_path / "c"), str(cfg), "[train]", "stepz")
    cfg.write_text('datset = "m3so-nb"\n')
    one_error(invoke("run", "--config", cfg, "--model", "copy_last"), str(cfg), "datset")
    cfg.write_text('dataset = "m3so-nb\n')
    one_error(invoke("run", "--config", cfg, "--model", "copy_last"), str(cfg), "TOML")


@pytest.mark.parametrize("preset", ["smoke", "paper"])
def test_every_models_config_survives_config_toml(preset):
    from s2sbench.config import to_dict
    from s2sbench.train.presets import PRESETS
    from s2sbench.train.runconfig import apply_table, dump_run_config, tomllib

    pre = PRESETS.get(preset)
    for name in MODELS.keys():
        cfg = pre.model_config_for(MODELS.get(name))
        text = dump_run_config({"model": name, "dataset": "m3so-nb"}, to_dict(cfg), to_dict(pre.train),
                               to_dict(pre.eval))
        d = tomllib.loads(text)
        assert d["model"].pop("name") == name
        assert apply_table(cfg, d["model"], name) == cfg, name
        assert apply_table(pre.train, d["train"], name) == pre.train
        assert apply_table(pre.eval, d["eval"], name) == pre.eval
