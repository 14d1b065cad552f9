"""Set-level metrics in evaluation (``s2sbench.eval.set_scores``): FVD streamed batch by batch equals FVD of the same
videos computed directly, the real features are cached by clip id and reused, chunks and frames are as configured
and recorded; the learned metrics (LPIPS, FVD) are off unless asked for, and missing weights are one ``Error:``
line before any compute."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.data.handle import Data
from s2sbench.data.loader import ClipDataset
from s2sbench.eval.evaluate import EvalConfig, evaluate
from s2sbench.eval.metrics import METRICS, SetMetric
from s2sbench.models import DataSpec, build_model
from s2sbench.testing import write_fake_dataset

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"diversity_clips": 0, "grid_clips": 0, "save_samples": 0}


def stored(root, n_frames: int = 25) -> np.ndarray:
    """The test clips as uint8 (N, T, H, W, C), read by the loader (frames / 255) and scaled back."""
    clips = ClipDataset(root, "test", num_frames=n_frames)
    return np.stack([(clips[i]["video"].numpy() * 255).round().astype(np.uint8).transpose(0, 2, 3, 1)
                     for i in range(len(clips))])


def copy_last_of(real: np.ndarray, n_past: int = 5) -> np.ndarray:
    """What copy_last's first sample looks like as a whole clip: the seen frames, then the last one repeated."""
    fake = real.copy()
    fake[:, n_past:] = real[:, n_past - 1:n_past]
    return fake


@pytest.fixture
def nb(tmp_path, monkeypatch):
    monkeypatch.setenv("S2SBENCH_CACHE", str(tmp_path / "cache"))
    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"train": 0, "val": 0, "test": 8})
    return Data.open(tmp_path / "nb", "m3so-nb"), build_model("copy_last", DataSpec.for_dataset("m3so-nb"))


def test_fvd_in_evaluation_is_fvd_of_the_same_videos_and_the_real_features_are_cached(nb, tmp_path):
    from s2sbench.eval.fvd import frechet_distance, i3d_logits

    data, net = nb
    cfg = EvalConfig(n_samples=2, n_clips=3, metrics=("ssim_paper", "fvd"), batch_clips=2, set_frames="clip", **QUIET)
    first = evaluate(net, data, cfg, progress=False)["set_scores"]["fvd"]
    real = stored(tmp_path / "nb")[:3]
    cached = list((tmp_path / "cache" / "fvd" / data.digest[:16]).glob("*.npz"))
    assert [p.name for p in cached] == ["test-fr1-25-i3d-af5c50f0df57.npz"]
    clips = ClipDataset(tmp_path / "nb", "test")
    ids = [clips[i]["id"] for i in range(3)]
    with np.load(cached[0]) as f:
        assert f["ids"].tolist() == sorted(ids)
        feats = f["features"][[f["ids"].tolist().index(i) for i in ids]]
    np.testing.assert_allclose(feats, i3d_logits(real), rtol=1e-4, atol=1e-4)  # batches of 2 vs one batch of 3
    expected = frechet_distance(feats, i3d_logits(copy_last_of(real)))
    assert abs(first["value"] - expected.value) <= 1e-3 * max(1.0, abs(expected.value))
    assert first["n_videos"] == 3 and first["frames"] == [1, 25] and first["sample"] == "first"
    assert first["size"] == "48x48x1" and first["record"]["weights_sha256"].startswith("af5c50f0df57")
    assert first["real_features"] == {"reused": 0, "computed": 3}
    assert "rank-deficient covariance: 3 videos for 400 features" in first["protocol"]
    assert first["protocol"].startswith("3 videos per set, frames 1-25 (5 seen + 20 predicted), the first sample of "
                                        "each clip, 48x48x1 before resizing, features: logits of the Kinetics-400 I3D")

    again = evaluate(net, data, cfg, progress=False)["set_scores"]["fvd"]
    assert again["real_features"] == {"reused": 3, "computed": 0} and again["value"] == first["value"]


def brightness(videos: np.ndarray) -> np.ndarray:
    return videos.reshape(len(videos), -1).astype(np.float64).mean(1, keepdims=True)


def gap(real: np.ndarray, fake: np.ndarray) -> tuple[float, dict]:
    return float(abs(real.mean() - fake.mean())), {}


def test_chunks_and_frames_follow_the_options(nb, tmp_path):
    data, net = nb
    toy = SetMetric("toy_gap", None, False, "brightness gap", embed=brightness, compare=gap)
    real = stored(tmp_path / "nb")
    with METRICS.registered("toy_gap", toy):
        ev = evaluate(net, data, EvalConfig(n_samples=2, metrics=("psnr", "toy_gap"), set_chunk=2, batch_clips=3,
                                            set_frames="clip", **QUIET), progress=False)
        s = ev["set_scores"]["toy_gap"]
        fake = copy_last_of(real)
        chunks = [gap(brightness(real[i:i + 2]), brightness(fake[i:i + 2]))[0] for i in range(0, 8, 2)]
        np.testing.assert_allclose(s["chunk_values"], chunks, rtol=1e-12)
        assert s["value"] == pytest.approx(np.mean(chunks)) and s["chunk"] == 2
        assert s["full_set_value"] == pytest.approx(gap(brightness(real), brightness(fake))[0])
        assert "mean over 4 chunks of 2" in s["protocol"] and ev["metrics"]["toy_gap"]["scope"] == "set"

        ev = evaluate(net, data, EvalConfig(n_samples=2, metrics=("psnr", "toy_gap"), set_chunk=5, **QUIET),
                      progress=False)  # the default frames: the predicted ones
        s = ev["set_scores"]["toy_gap"]
        assert s["frames"] == [6, 25] and s["protocol"].startswith("8 videos per set, predicted frames 6-25,")
        assert "scored as one set: 8 clips are fewer than two chunks of 5" in s["protocol"]
        assert s["value"] == pytest.approx(gap(brightness(real[:, 5:]), brightness(fake[:, 5:]))[0])
    with pytest.raises(Exception, match="eval.set_frames='all'"):
        evaluate(net, data, EvalConfig(set_frames="all", **QUIET), progress=False)


def test_lpips_and_fvd_are_scored_only_when_asked_for(nb, monkeypatch):
    import s2sbench.eval.lpips as L

    data, net = nb
    model = L.LPIPS()
    model.net.load_state_dict(L.random_backbone(0))  # no ImageNet download in tests; heads as lpips ships them
    heads = torch.load(L.heads_path(), map_location="cpu", weights_only=True)
    model.heads.load_state_dict({f"{i}.weight": heads[f"lin{i}.model.1.weight"] for i in range(5)})
    monkeypatch.setattr(L, "load_lpips", lambda device="cpu": model.eval())
    monkeypatch.setattr(L, "alexnet_path", lambda download=True: None)
    monkeypatch.setattr(L, "backbone_state", lambda path: L.random_backbone(0))  # its check reads no ImageNet file
    ev = evaluate(net, data, EvalConfig(n_samples=2, n_clips=2, **QUIET), progress=False)
    assert "lpips" not in ev["metrics"] and ev["set_scores"] == {}  # off by default (smoke, tests)
    ev = evaluate(net, data, EvalConfig(n_samples=2, n_clips=2, learned_metrics=True, **QUIET), progress=False)
    assert list(ev["metrics"])[-2:] == ["lpips", "fvd"] and set(ev["set_scores"]) == {"fvd"}
    video = torch.from_numpy(stored(data.root)[:2]).permute(0, 1, 4, 2, 3).float() / 255  # (2, 25, 1, 48, 48)
    want = L.lpips_distance(video[:, 4:5].expand(-1, 20, -1, -1, -1), video[:, 5:], model=model)  # (2, 20)
    np.testing.assert_allclose(ev["scores"]["mean"]["lpips"]["curve"], want.mean(0).numpy(), rtol=1e-5)


@pytest.mark.parametrize("env, sets, named", [
    ("S2SBENCH_LPIPS_ALEXNET", ["eval.learned_metrics=true"], "S2SBENCH_LPIPS_ALEXNET="),
    ("S2SBENCH_I3D_WEIGHTS", ["eval.metrics=ssim_paper,fvd"], "S2SBENCH_I3D_WEIGHTS="),
])
def test_missing_weights_are_one_error_line_before_any_compute(tmp_path, monkeypatch, env, sets, named):
    monkeypatch.setenv(env, str(tmp_path / "missing.bin"))
    monkeypatch.setenv("S2SBENCH_DATA", str(tmp_path / "data"))
    args = ["run", "--model", "copy_last", "--dataset", "m3so-nb", "--out", str(tmp_path / "run")]
    res = CliRunner().invoke(main, args + [a for s in sets for a in ("--set", s)])
    assert res.exit_code == 1
    (line,) = res.output.strip().splitlines()
    assert line.startswith("Error: ") and named in line and str(tmp_path / "missing.bin") in line
    assert not (tmp_path / "data").exists() and not (tmp_path / "run").exists()  # nothing generated, nothing run


def test_minus_name_leaves_one_metric_out_of_the_default_and_checks_only_the_rest(tmp_path, monkeypatch):
    from s2sbench.errors import ConfigError
    from s2sbench.eval.metrics import selected

    monkeypatch.setenv("S2SBENCH_LPIPS_ALEXNET", str(tmp_path / "missing.pth"))  # LPIPS weights absent: not checked
    names = selected(("-lpips",), learned=True)
    assert names == [m for m in METRICS.ordered() if m != "lpips"] and "fvd" in names
    assert selected(("-psnr",)) == [m for m in METRICS.ordered() if m != "psnr" and not METRICS.get(m).learned]
    with pytest.raises(ConfigError, match="not both"):
        selected(("ssim", "-lpips"))
    with pytest.raises(ConfigError, match="unknown metric \\['nosuch'\\]"):
        selected(("-nosuch",))
    with pytest.raises(Exception, match="alexnet-owt-7be5be79.pth"):
        selected((), learned=True)  # without the exclusion the same call checks the missing weights
