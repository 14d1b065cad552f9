"""The Python API (``s2sbench.load_run``): a finished run's model predicts on clips given as plain arrays (uint8 or
float frames; the audio as the dataset's feature or as a raw waveform) and scores predictions with the registered
metrics."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import s2sbench
from s2sbench.cli import main
from s2sbench.data.loader import ClipDataset
from s2sbench.errors import InputError
from s2sbench.testing import write_fake_dataset


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_thread):
    tmp = tmp_path_factory.mktemp("api")
    write_fake_dataset(tmp / "data", "m3so-nb", {"train": 16, "val": 4, "test": 4})
    res = CliRunner().invoke(main, ["run", "--model", "sound2sight", "--dataset", "m3so-nb", "--data",
                                    str(tmp / "data"), "--preset", "smoke", "--out", str(tmp / "run"), "--quiet",
                                    "--set", "train.steps=3", "--set", "eval.n_clips=4", "--set", "eval.n_samples=2"])
    assert res.exit_code == 0, res.output
    return tmp


def test_load_run_has_the_model_result_and_evaluated_checkpoint(trained):
    run = s2sbench.load_run(trained / "run")
    assert run.model.name == "sound2sight" and run.model.uses_audio and not run.model.training
    assert run.result.model == "sound2sight" and run.result.dataset == "m3so-nb"
    assert run.checkpoint.name == "best.pt" and run.spec.n_past == 5


def test_predict_from_a_waveform_equals_predict_from_the_loaders_features(trained):
    run = s2sbench.load_run(trained / "run")
    raw = ClipDataset(trained / "data", "test", audio_features="raw").clip(0)
    feats = ClipDataset(trained / "data", "test")[0]["audio"].numpy()  # the loader's stft, (T, F)
    ctx = raw.frames[:5]  # (5, 48, 48, 1) uint8
    a = run.predict(ctx, raw.audio, n_future=20, n_samples=3, seed=1)
    b = run.predict(ctx, feats[:25], n_future=20, n_samples=3, seed=1)
    c = run.predict(ctx.astype(np.float32) / 255, raw.audio, n_future=20, n_samples=3, seed=1)
    assert a.shape == (3, 20, 48, 48, 1) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-5)
    batched = run.predict(ctx[None].repeat(2, 0), np.stack([raw.audio] * 2), n_future=4, n_samples=2, seed=0)
    assert batched.shape == (2, 2, 4, 48, 48, 1)


def test_score_uses_the_registered_metrics_and_the_protocol(trained):
    run = s2sbench.load_run(trained / "run")
    clip = ClipDataset(trained / "data", "test", audio_features="raw").clip(1)
    target = clip.frames[5:25]
    perfect = run.score((target.astype(np.float32) / 255)[None], target)
    assert perfect["ssim_paper"] == pytest.approx(1.0) and perfect["psnr"] == 100.0  # capped: identical frames
    pred = run.predict(clip.frames[:5], clip.audio, n_future=20, n_samples=4, seed=0)
    best, mean = run.score(pred, target), run.score(pred, target, protocol="mean")
    assert {"ssim_paper", "ssim", "psnr"} <= set(best) and best["ssim_paper"] >= mean["ssim_paper"]
    assert best["ssim_paper"] < 1 and len(run.score(pred, target, per_frame=True)["psnr"]) == 20


def test_api_errors_are_one_line_and_name_the_fix(trained, tmp_path):
    run = s2sbench.load_run(trained / "run")
    with pytest.raises(InputError, match=r"\(48, 48, 1\).*resize"):
        run.predict(np.zeros((5, 32, 32, 1), np.uint8), None)
    with pytest.raises(InputError, match="samples"):
        run.predict(np.zeros((5, 48, 48, 1), np.uint8), np.zeros(100, np.float32), n_future=20)
    with pytest.raises(InputError, match="no best.pt or last.pt"):
        s2sbench.load_run(tmp_path)


def test_the_waveform_becomes_the_loaders_feature(trained):
    """What the model is fed from a raw waveform is the loader's feature of that clip (not silence, not another
    clip's)."""
    run = s2sbench.load_run(trained / "run")
    raw = ClipDataset(trained / "data", "test", audio_features="raw")
    feats = ClipDataset(trained / "data", "test")
    got = run._audio(np.stack([raw.clip(0).audio, raw.clip(1).audio]), 2, 25, batched=True).numpy()
    np.testing.assert_allclose(got[0], feats[0]["audio"].numpy()[:25], atol=1e-5)
    np.testing.assert_allclose(got[1], feats[1]["audio"].numpy()[:25], atol=1e-5)
    assert np.abs(got[0]).max() > 0 and np.abs(got[0] - got[1]).max() > 1e-3


def test_training_wrote_tensorboard_events(trained):
    """``[dev]`` installs TensorBoard; a run then logs its curves to RUN_DIR/tb (docs/training.md)."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(trained / "run" / "tb"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "train/loss" in tags and any(t.startswith("val/") for t in tags)
    assert [e.step for e in acc.Scalars("train/loss")][-1] >= 1
