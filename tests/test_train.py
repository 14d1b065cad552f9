"""The trainer: NaN stop keeps the last good checkpoint, resume is exact, budgets (multi-process: test_distributed)."""
from __future__ import annotations

import csv
import dataclasses
import math

import pytest
import torch

from s2sbench.data.handle import Data
from s2sbench.data.loader import collate
from s2sbench.errors import ConfigError
from s2sbench.eval.validation import val_scores
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.testing import write_fake_dataset
from s2sbench.train import precision
from s2sbench.train.trainer import TrainConfig, TrainingError, fit

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake-nb")
    write_fake_dataset(root, "m3so-nb", {"train": 24, "val": 4, "test": 4})
    return Data.open(root, "m3so-nb")


CFG = TrainConfig(steps=8, batch_size=4, val_every=3, val_batches=1, checkpoint_every=4, seed=3)


def tiny(nan_at_step: int = -1, seed: int = 3):
    torch.manual_seed(seed)
    return build_model("testing_tiny", DataSpec.for_dataset("m3so-nb"), {"nan_at_step": nan_at_step})


def losses(run_dir) -> dict[int, float]:
    with open(run_dir / "train_log.csv", newline="") as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f)}


def test_nan_stops_with_message_and_keeps_last_good_checkpoint_then_resume_is_exact(data, tmp_path):
    full = tmp_path / "full"
    fit(tiny(), data, full, CFG, val_score=val_scores, progress=False)
    reference = losses(full)
    assert sorted(reference) == list(range(1, 9))  # 6 steps/epoch: the run crosses an epoch boundary

    cut = tmp_path / "cut"
    with pytest.raises(TrainingError, match=r"step 5: loss is nan .*last.pt \(step 4\)"):
        fit(tiny(nan_at_step=5), data, cut, CFG, val_score=val_scores, progress=False)
    ck = torch.load(cut / "last.pt", weights_only=True)
    assert ck["step"] == 4 and all(torch.isfinite(t).all() for t in ck["state_dict"].values())

    summary = fit(tiny(seed=99), data, cut, CFG, val_score=val_scores, resume=True,
                  progress=False)  # another initialisation: must be overwritten
    assert summary["resumed_from"] == 4 and summary["steps"] == 8
    assert losses(cut) == reference  # identical losses, bit for bit
    a, b = torch.load(full / "last.pt", weights_only=True), torch.load(cut / "last.pt", weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


@pytest.mark.parametrize("select_on", ["auto", "val_ssim_loss"])
def test_model_selection_uses_validation_and_records_it(data, tmp_path, select_on):
    s = fit(tiny(), data, tmp_path, dataclasses.replace(CFG, select_on=select_on), val_score=val_scores,
            progress=False)
    key = "val_digit_err" if select_on == "auto" else select_on  # the fake clips carry the digit's positions
    assert s["val_split"] == "val" and s["select_on"] == key
    with open(tmp_path / "val_log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    vals = {int(r["step"]): float(r[key]) for r in rows}
    assert sorted(vals) == [3, 6, 8] and all(0 <= float(r["val_ssim_loss"]) <= 2 for r in rows)
    assert all(float(r["val_mse"]) >= 0 for r in rows)
    best = min(vals.values())
    assert s["best_step"] == max(k for k, v in vals.items() if v == best) and s["best_score"] == pytest.approx(best)
    ck = torch.load(tmp_path / "best.pt", weights_only=True)
    assert ck["step"] == s["best_step"] and ck["select_on"] == key


class _Fixed:
    """A deterministic stand-in predictor that returns the given future frames for every clip."""
    stochastic, val_samples = False, 1

    def __init__(self, frames: torch.Tensor) -> None:
        self.spec, self.frames = DataSpec.for_dataset("m3so-nb"), frames

    def sample(self, context, audio, n_future, n_samples):
        return self.frames[:, None, :n_future]


def test_selection_cannot_pick_a_blank_or_blurred_frame_over_one_that_places_the_digit(data):
    ds = data.clips("val", 20, "stft")
    batch = collate([ds[i] for i in range(len(ds))])
    future = batch.video[:, 5:]
    placed = future.roll(1, -1)  # the digit drawn 1 px off
    blurred = future.mean(1, keepdim=True).expand_as(future)  # the mean future: the digit smeared along its path
    scores = {name: val_scores(_Fixed(x), batch) for name, x in
              (("placed", placed), ("black", torch.zeros_like(future)), ("blurred", blurred))}
    assert next(iter(scores["placed"])) == "val_digit_err"  # the preferred key: what "auto" selects on
    for worse in ("black", "blurred"):
        assert scores["placed"]["val_digit_err"] < scores[worse]["val_digit_err"], scores
        assert scores["placed"]["val_digit_hit"] < scores[worse]["val_digit_hit"], scores


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_both_precisions_train_and_are_recorded(data, tmp_path, precision):
    s = fit(tiny(), data, tmp_path, dataclasses.replace(CFG, steps=3, precision=precision), val_score=val_scores,
            progress=False)
    assert s["steps"] == 3 and s["precision"] == precision and s["amp_bf16"] == (precision == "bf16")
    assert s["hardware"]["cpu_bf16"] in ("amx", "avx512_bf16", "none")
    assert all(math.isfinite(v) for v in losses(tmp_path).values())


def test_auto_precision_uses_bf16_on_a_cpu_only_where_measured_faster(monkeypatch):
    cpu = torch.device("cpu")
    fast, other = type("Fast", (), {"cpu_bf16": True}), type("Other", (), {"cpu_bf16": False})
    monkeypatch.setattr(precision, "cpu_bf16", lambda: "avx512_bf16")
    assert precision.use_bf16("auto", cpu, fast) and not precision.use_bf16("auto", cpu, other)
    assert {m for m in MODELS.keys() if precision.use_bf16("auto", cpu, MODELS.get(m))} >= {"sound2sight", "svg_lp"}
    monkeypatch.setattr(precision, "cpu_bf16", lambda: "none")
    assert not precision.use_bf16("auto", cpu, fast)
    assert precision.use_bf16("bf16", cpu, other) and not precision.use_bf16("fp32", cpu, fast)
    with pytest.raises(ConfigError, match="train.precision"):
        precision.use_bf16("half", cpu, other)


def test_cpu_budget_stops_with_a_validated_checkpoint_and_carries_over_on_resume(data, tmp_path, monkeypatch):
    import dataclasses

    import s2sbench.train.trainer as train_mod

    clock = {"cpu": 0.0}
    monkeypatch.setattr(train_mod.time, "process_time", lambda: clock["cpu"])
    model = tiny()
    step_fn = model.training_step

    seen = []  # the share of the run the trainer reported before each step (set_progress)

    def costly_step(*a, **k):  # every step "uses" 20 CPU seconds of the fake clock
        seen.append(model.progress)
        clock["cpu"] += 20.0
        return step_fn(*a, **k)

    model.training_step = costly_step
    cfg = dataclasses.replace(CFG, steps=100, val_every=50, checkpoint_every=50, cpu_budget_min=1.0)
    s = fit(model, data, tmp_path, cfg, val_score=val_scores, progress=False)
    assert s["steps"] == 4 and s["stopped"] == "CPU budget of 1 min reached"  # 80 s > 60 s after step 4
    assert s["cpu_time_s"] == pytest.approx(80.0)
    with open(tmp_path / "val_log.csv", newline="") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [4]  # validated at the stop, not only every 50
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 4
    # schedules follow the budget that stops the run (20 s of 60 per step), not the 100 planned steps
    assert seen == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0], abs=1e-6)

    s = fit(model, data, tmp_path, dataclasses.replace(cfg, cpu_budget_min=2.0), val_score=val_scores, resume=True,
            progress=False)
    assert s["resumed_from"] == 4 and s["steps"] == 7  # the 80 s already used count: 140 s > 120 s after step 7
