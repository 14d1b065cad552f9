"""The reference predictors (black background, mean training frame, copy-last): the trainer runs no steps for them,
their predictions are the statistics they claim (checked against the stored frames by numpy), the checkpoint
carries them, and reports label them as references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from s2sbench.data.handle import Data
from s2sbench.data.loader import ClipDataset
from s2sbench.eval.protocols import PAPER
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.testing import write_fake_dataset
from s2sbench.train.checkpoint import load_checkpoint
from s2sbench.train.trainer import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_thread")
REFERENCES = ["constant_background", "copy_last", "mean_frame"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("nb")
    write_fake_dataset(r, "m3so-nb", sizes={"train": 10, "val": 2, "test": 4})
    return r


def test_references_are_registered_untrainable_and_labelled():
    refs = sorted(n for n in MODELS.keys() if MODELS.get(n).reference)
    assert refs == REFERENCES and all(not MODELS.get(n).trainable for n in refs)
    assert all(MODELS.get(n).trainable for n in MODELS.keys() if n not in refs)


@pytest.mark.parametrize("name", REFERENCES)
def test_fit_runs_no_step_and_best_pt_predicts_the_prepared_statistics(name, root, tmp_path, monkeypatch):
    spec = DataSpec.for_dataset("m3so-nb")
    model = build_model(name, spec, MODELS.get(name).Config())
    monkeypatch.setattr(model, "training_step", lambda *a: pytest.fail("a reference predictor was stepped"))
    summary = fit(model, Data.open(root, "m3so-nb"), tmp_path, TrainConfig(steps=3000, batch_size=2), progress=False)
    assert (summary["steps"], summary["best_step"], summary["stopped"]) == (0, 0, "not trained (trainable = False)")
    assert not (tmp_path / "train_log.csv").exists() and summary["cpu_time_s"] < 60
    loaded, ck = load_checkpoint(tmp_path / "best.pt")
    assert ck["step"] == 0
    test = ClipDataset(root, "test")
    video = torch.stack([test[i]["video"] for i in range(len(test))])  # (N, 25, 1, 48, 48)
    P, F = spec.n_past, 20
    got = loaded.sample(video[:, :P], torch.zeros(len(test), P + F, spec.audio_dim), F, 2)
    assert got.shape == (len(test), 2, F, 1, 48, 48)
    train = np.stack([c.frames for c in map(ClipDataset(root, "train").clip, range(10))]) / 255.0  # (10, T, H, W, C)
    if name == "mean_frame":
        expect = torch.from_numpy(train.mean(0)[P:P + F]).permute(0, 3, 1, 2).float().expand_as(got)
    elif name == "constant_background":
        expect = torch.full_like(got, float(np.median(train)))
    else:
        expect = video[:, P - 1:P].unsqueeze(1).expand_as(got)
    assert torch.allclose(got, expect, atol=1e-6)


def test_mean_frame_repeats_its_last_frame_past_the_stored_length(root):
    model = build_model("mean_frame", DataSpec.for_dataset("m3so-nb"))
    model.prepare(Data.open(root, "m3so-nb"))  # 25 stored frames
    out = model.sample(torch.zeros(1, 5, 1, 48, 48), torch.zeros(1, 40, 483), 30, 1)[0, 0]
    assert torch.equal(out[:20], model.mean[5:25]) and all(torch.equal(f, model.mean[24]) for f in out[20:])


def test_reports_mark_references(root, tmp_path):
    from s2sbench.report.leaderboard import rows_for
    from s2sbench.report.tables import build, render
    from s2sbench.train.runner import run

    results = []
    for name in ("copy_last", "mean_frame"):
        r, _ = run(name, "m3so-nb", preset="smoke", data=root, out=tmp_path / name, progress=False, echo=lambda s: None)
        assert r.train["steps"] == 0 and r.train["best_step"] == 0
        results.append(r)
    rows = rows_for(results, "m3so-nb")
    assert {(r["model"], r["reference"], r["train_steps"], r["best_step"]) for r in rows} == {
        ("copy_last", "true", "0", "0"), ("mean_frame", "true", "0", "0")}
    md = render(1, build(results, 1), PAPER.protocol, PAPER.metric)["md"]
    assert "| reference: copy_last (smoke) |" in md and "| reference: mean_frame (smoke) |" in md


def test_skill_is_relative_to_the_best_reference_on_the_same_clips():
    from s2sbench.report.leaderboard import _skill

    base = {"protocol": "best_per_frame", "ssim_variant": "ssim_paper", "split": "test", "n_past": "5",
            "n_future": "20", "clips": "50", "data_sha256": "d1"}
    rows = [{**base, "model": "copy_last", "reference": "true", "ssim_avg": "0.6000"},
            {**base, "model": "constant_background", "reference": "true", "ssim_avg": "0.8000"},
            {**base, "model": "m", "reference": "false", "ssim_avg": "0.9000"},
            {**base, "model": "m", "reference": "false", "ssim_avg": "0.7000", "clips": "10"}]  # no reference there
    _skill(rows)
    assert [r.get("ssim_skill") for r in rows] == ["-1.0000", "0.0000", "0.5000", None]
