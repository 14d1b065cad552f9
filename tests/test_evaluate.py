"""The evaluator on a stochastic model and an RGB dataset: protocol order, diversity on frames and optical flow."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from s2sbench.data.handle import Data
from s2sbench.eval.evaluate import EvalConfig, evaluate
from s2sbench.eval.samples import read_samples
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.testing import write_fake_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


def test_stochastic_rgb_evaluation(tmp_path):
    write_fake_dataset(tmp_path / "drums", "audioset-drums", {"test": 3})
    torch.manual_seed(0)
    model = build_model("testing_tiny", DataSpec.for_dataset("audioset-drums"), {"noise": 0.5})
    cfg = EvalConfig(n_samples=4, n_clips=2, diversity_clips=1, save_samples=2, grid_clips=1, batch_clips=1)
    data = Data.open(tmp_path / "drums", "audioset-drums")
    out = evaluate(model, data, cfg, out_dir=tmp_path / "run", progress=False)
    assert out["sampling"].startswith("stochastic") and (out["n_past"], out["n_future"]) == (15, 30)
    s = out["scores"]
    for m in ("ssim_paper", "ssim", "psnr"):
        bpf, bs, mean = (np.array(s[p][m]["curve"]) for p in ("best_per_frame", "best_sequence", "mean"))
        assert (bpf >= bs - 1e-9).all() and bs.mean() >= mean.mean() - 1e-9 and len(bpf) == 30
    d = out["diversity"]
    assert len(d["best_of_k"]["ssim_paper"]) == 4 and np.all(np.diff(d["best_of_k"]["ssim_paper"]) >= -1e-12)
    assert len(d["pairwise_ssim_paper"]) == 3 and d["diversity_clips"] == 1
    assert d["flow"]["method"] == "opencv farneback" and len(d["flow"]["pairwise_ssim_paper"]) == 3
    assert d["best_of_k"]["ssim_paper"][-1] == pytest.approx(np.mean(s["best_per_frame"]["ssim_paper"]["curve"]))
    saved = read_samples(tmp_path / "run" / "samples.h5")
    assert saved["frames"].shape == (2, 30, 64, 64, 3) and saved["attrs"]["dataset"] == "audioset-drums"
    assert (tmp_path / "run" / "grid.gif").exists()


def test_sample_shape_is_checked(tmp_path):
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"test": 2})
    model = build_model("copy_last", DataSpec.for_dataset("m3so-nb"))
    model.sample = lambda context, audio, n_future, n: torch.zeros(len(context), 1, n_future - 1, 1, 48, 48)
    with pytest.raises(ValueError, match=r"sample\(\) returned shape"):
        evaluate(model, Data.open(tmp_path / "nb", "m3so-nb"), EvalConfig(n_samples=2), progress=False)


@pytest.mark.parametrize("p_real, expected", [(0.9, 1.0), (0.1, 0.0)])
def test_fooling_rate_is_reported_for_models_with_a_discriminator(tmp_path, monkeypatch, p_real, expected):
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"test": 3})
    model = build_model("sound2sight", DataSpec.for_dataset("m3so-nb"), MODELS.get("sound2sight").Config.tiny())
    calls = []

    def judged(clips, audio, n_past):  # the discriminator's P(real) per predicted frame, fixed for the test
        calls.append(clips.shape)
        return torch.full((clips.shape[0], clips.shape[1] - n_past), p_real)

    monkeypatch.setattr(model.disc, "real_probability", judged)
    cfg = EvalConfig(n_samples=2, n_clips=3, diversity_clips=0, save_samples=0, grid_clips=0, batch_clips=2)
    out = evaluate(model, Data.open(tmp_path / "nb", "m3so-nb"), cfg, progress=False)
    assert out["fooling_rate"] == expected and sum(s[0] for s in calls) == 3  # one generated clip per test clip
    plain = evaluate(build_model("copy_last", DataSpec.for_dataset("m3so-nb")), Data.open(tmp_path / "nb", "m3so-nb"),
                     cfg, progress=False)
    assert "fooling_rate" not in plain


def test_evaluation_reads_each_clip_once_and_scores_the_block_from_batch_meta(tmp_path, monkeypatch):
    from s2sbench.data import loader

    write_fake_dataset(tmp_path / "m3so", "m3so", {"test": 3})
    data = Data.open(tmp_path / "m3so", "m3so")
    reads = []
    getitem = loader.ClipDataset.__getitem__
    monkeypatch.setattr(loader.ClipDataset, "__getitem__", lambda self, i: reads.append(i) or getitem(self, i))
    monkeypatch.setattr(loader.ClipDataset, "clip", lambda self, i: pytest.fail("a whole clip was re-read"))
    model = build_model("copy_last", DataSpec.for_dataset("m3so"))
    cfg = EvalConfig(n_samples=2, diversity_clips=0, save_samples=0, grid_clips=0)
    out = evaluate(model, data, cfg, progress=False)
    assert sorted(reads) == [0, 1, 2]
    curve = out["scores"]["best_per_frame"]["block_iou"]["curve"]  # NaN until the block shows (frame 42)
    assert np.isnan(curve[:11]).all() and not np.isnan(curve[11:]).any() and "block_iou" not in out


def test_sampling_precision_option_is_checked_and_bf16_scores_close_to_fp32(tmp_path):
    from s2sbench.errors import ConfigError
    from s2sbench.eval.evaluate import selected_metrics

    with pytest.raises(ConfigError, match="eval.precision"):
        selected_metrics(EvalConfig(precision="half"))
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"test": 2})
    data, avg = Data.open(tmp_path / "nb", "m3so-nb"), {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = build_model("svg_lp", DataSpec.for_dataset("m3so-nb"), MODELS.get("svg_lp").Config.tiny())
        cfg = EvalConfig(n_samples=3, save_samples=0, diversity_clips=0, grid_clips=0, precision=precision)
        out = evaluate(model, data, cfg, progress=False)
        assert out["eval"]["precision"] == precision
        avg[precision] = out["scores"]["best_per_frame"]["ssim_paper"]["avg"]
    assert avg["bf16"] == pytest.approx(avg["fp32"], abs=0.02) and avg["bf16"] != avg["fp32"]


def test_samples_do_not_depend_on_what_draws_random_numbers_between_batches(tmp_path, monkeypatch):
    """Scoring that draws from the global generator (building LPIPS' or the I3D's network does) leaves every later
    batch's samples as they were: a run's SSIM must not change because LPIPS was added or left out."""
    import s2sbench.eval.evaluate as E

    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"test": 3})
    data = Data.open(tmp_path / "nb", "m3so-nb")
    cfg = EvalConfig(n_samples=3, n_clips=3, batch_clips=1, metrics=("ssim_paper",), diversity_clips=0,
                     save_samples=0, grid_clips=0)

    def curves() -> list[float]:
        torch.manual_seed(0)
        model = build_model("testing_tiny", DataSpec.for_dataset("m3so-nb"), {"noise": 0.5})
        return evaluate(model, data, cfg, progress=False)["scores"]["mean"]["ssim_paper"]["curve"]

    plain = curves()
    score = E._score
    monkeypatch.setattr(E, "_score", lambda *a, **k: (torch.randn(1000), score(*a, **k))[1])
    assert curves() == plain
