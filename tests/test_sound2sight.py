"""Sound2Sight and its ablations in a tiny configuration: training steps, sampling, discriminator, gamma schedule."""
from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch

import s2sbench.baselines.sound2sight as s2s
from s2sbench.data.loader import Batch
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.train.checkpoint import load_checkpoint, save_checkpoint

NAMES = ["sound2sight", "sound2sight_no_aa", "sound2sight_no_aa_md", "sound2sight_no_audio", "sound2sight_lstm"]
SPEC = DataSpec(channels=1, height=16, width=16, audio_dim=8 * 7, audio_patch=(8, 7), n_past=3, n_future=4)


def _batch(B: int = 3, T: int = 7, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(B, T, 1, 16, 16, generator=g), torch.rand(B, T, 56, generator=g), torch.arange(B),
                 [f"c{i}" for i in range(B)])


def _model(name: str = "sound2sight", seed: int = 0, **over) -> s2s.Sound2Sight:
    torch.manual_seed(seed)
    cls = MODELS.get(name)
    return build_model(name, SPEC, dataclasses.replace(cls.Config.tiny(), **over))


@pytest.mark.parametrize("name", NAMES)
def test_each_variant_trains_a_step(name: str) -> None:
    m = _model(name)
    opt = m.configure_optimizers()
    m.setup_training(10)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    logs = m.training_step(_batch(), opt, 5)  # adversarial phase
    assert all(math.isfinite(v) for v in logs.values()), logs
    assert logs["gamma"] > 0 and logs["kl"] >= 0
    changed = {k.split(".")[0] for k, v in m.state_dict().items() if v.dtype.is_floating_point
               and not torch.equal(v, before[k])}
    expected = {"encoder", "decoder", "prior", "posterior", "predictor", "prior_stream", "disc"}
    assert expected <= changed, expected - changed
    assert ("audio_encoder" in changed) == (name != "sound2sight_no_audio")


def test_ablation_switches() -> None:
    assert _model("sound2sight").disc.aa and _model("sound2sight").disc.md
    assert not _model("sound2sight_no_aa").disc.aa and _model("sound2sight_no_aa").disc.md
    no_md = _model("sound2sight_no_aa_md").disc
    assert not no_md.aa and not no_md.md and not hasattr(no_md, "lstm")
    assert _model("sound2sight_no_audio").audio_encoder is None and not MODELS.get("sound2sight_no_audio").uses_audio
    lstm = _model("sound2sight_lstm")
    assert isinstance(lstm.prior_stream, s2s.LSTMStream) and isinstance(lstm.audio_stream, s2s.LSTMStream)


def test_sample_shape_range_and_no_audio_ignores_audio() -> None:
    b, other_audio = _batch(), _batch(seed=1).audio
    for name in ("sound2sight", "sound2sight_no_audio"):
        m = _model(name)
        torch.manual_seed(1)
        out = m.sample(b.video[:, :3], b.audio, 4, 5)
        assert out.shape == (3, 5, 4, 1, 16, 16)
        assert 0.0 <= out.min() and out.max() <= 1.0
        assert (out[:, 0] - out[:, 1]).abs().max() > 0  # samples differ (z from the prior)
        torch.manual_seed(1)
        other = m.sample(b.video[:, :3], other_audio, 4, 5)
        m.eval()
        with torch.no_grad():
            mu, mu_other = (m(b.video, a)["mu_p"] for a in (b.audio, other_audio))
        if name == "sound2sight_no_audio":
            assert torch.equal(out, other) and torch.equal(mu, mu_other)
        else:  # the prior reads the audio (the untrained decoder's output barely moves)
            assert (mu - mu_other).abs().max() > 1e-6


def test_sampling_encodes_the_context_once_per_clip() -> None:
    m, b = _model(), _batch(B=2)
    sizes: list[int] = []
    m.encoder.register_forward_hook(lambda mod, inp, out: sizes.append(inp[0].shape[0]))
    m.sample(b.video[:, :3], b.audio, 4, 6)
    assert sizes == [2 * 3] + [2 * 6] * 3  # context once at batch B, then one call per generated frame at B*S


def test_generation_matches_teacher_forcing_on_its_own_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """With z = the prior mean, the cached autoregressive loop equals one teacher-forced pass over the generated
    clip: the KV cache, the LSTM states, the skips and the audio alignment agree with the batched training form."""
    monkeypatch.setattr(s2s, "reparameterise", lambda mu, logvar: mu)
    for name, on_ctx in (("sound2sight", False), ("sound2sight", True), ("sound2sight_lstm", False)):
        m, b = _model(name, loss_on_context=on_ctx), _batch(B=2)
        gen = m.sample(b.video[:, :3], b.audio, 4, 1)[:, 0]  # (2, 4, 1, 16, 16)
        clip = torch.cat([b.video[:, :3], gen], 1)  # (2, 7, 1, 16, 16)
        m.eval()
        with torch.no_grad():
            pred = m(clip, b.audio)["pred"]  # predictions of frames 1..6 or 3..6
        assert pred.shape[1] == (6 if on_ctx else 4)
        torch.testing.assert_close(pred[:, -4:], gen, atol=1e-5, rtol=0)


@pytest.mark.parametrize("loss_on_context", [False, True])
def test_fast_path_equals_the_plain_modules(loss_on_context: bool) -> None:
    """``Config.fast`` (matrix-product convolutions, the decoder's skip half once per source, channels_last) against
    ``fast=False`` (plain ``nn`` modules): the same state dict, and the teacher-forced pass, its loss gradients and
    the samples equal within 6e-5 relative (float32 rounding in a different order)."""
    models = [_model(fast=fast, loss_on_context=loss_on_context) for fast in (True, False)]
    fast, plain = models
    assert [type(m) for m in fast.encoder.modules()] != [type(m) for m in plain.encoder.modules()]
    assert all(torch.equal(a, b) for a, b in zip(fast.state_dict().values(), plain.state_dict().values(), strict=True))
    b = _batch()
    outs, grads = [], []
    for m in models:
        torch.manual_seed(1)
        out = m(b.video, b.audio)
        pred = out["pred"]
        loss = ((pred - b.video[:, -pred.shape[1] :]) ** 2).mean() + s2s.kl_gaussians(
            out["mu_q"], out["lv_q"], out["mu_p"], out["lv_p"])
        outs.append(out)
        grads.append(torch.autograd.grad(loss, [p for p in m.parameters() if p.requires_grad], allow_unused=True))
    for k in outs[1]:
        assert (outs[0][k] - outs[1][k]).norm() <= 6e-5 * outs[1][k].norm(), k
    used = [i for i, g in enumerate(grads[1]) if g is not None]
    assert len(used) > 20 and all(grads[0][i] is not None for i in used)
    scale = torch.cat([grads[1][i].flatten() for i in used]).norm()
    for i in used:  # relative to the whole gradient: a bias before a BatchNorm has a zero gradient (rounding noise)
        assert (grads[0][i] - grads[1][i]).norm() <= 6e-5 * scale
    samples = []
    for m in models:
        torch.manual_seed(2)
        samples.append(m.sample(b.video[:, :3], b.audio, 4, 3))
    assert (samples[0] - samples[1]).norm() <= 6e-5 * samples[1].norm()


def test_discriminator_encoders_learn_and_the_original_defect_is_reproducible() -> None:
    for train_enc in (True, False):
        m = _model(disc_train_encoders=train_enc)
        opt = m.configure_optimizers()
        enc0 = copy.deepcopy(m.disc.encoder.state_dict())
        aud0 = copy.deepcopy(m.disc.audio_encoder.state_dict())
        m.training_step(_batch(), opt, 3)
        moved = [not torch.equal(v, enc0[k]) for k, v in m.disc.encoder.state_dict().items() if k.endswith("weight")]
        moved_a = [not torch.equal(v, aud0[k]) for k, v in m.disc.audio_encoder.state_dict().items()
                   if k.endswith("weight")]
        assert all(moved) == train_enc and all(moved_a) == train_enc
        assert any(moved) == train_enc and any(moved_a) == train_enc


def test_warm_start_generator_update_ignores_the_discriminator() -> None:
    """In the warm start (gamma = 0) the generator's update equals that of a model without a discriminator, and in
    the adversarial phase it differs (the adversarial gradient reaches the generator)."""
    results = {}
    init = {n: p for n, p in _model().state_dict().items() if not n.startswith("disc.")}
    for key, over, step in (("warm", {}, 0), ("plain", {"adversarial": False}, 0), ("adv", {"gamma": 10.0}, 500)):
        m = _model(**over)
        m.load_state_dict(init, strict=False)  # the same generator in all three
        m.setup_training(1001)
        opt = m.configure_optimizers()
        torch.manual_seed(7)
        m.training_step(_batch(), opt, step)
        results[key] = {n: p.detach().clone() for n, p in m.named_parameters() if not n.startswith("disc.")}
    assert all(torch.equal(results["warm"][n], results["plain"][n]) for n in results["plain"])
    assert any(not torch.equal(results["adv"][n], results["plain"][n]) for n in results["plain"])


def test_gamma_schedule_follows_the_paper_epochs() -> None:
    m = _model()
    m.setup_training(1001 * 10)  # 10 iterations per "epoch" of the paper's 1001
    for step in (0, 5, 9, 10, 2999, 3000, 5999, 6000, 8999, 9000, 10009):
        epoch = step // 10
        want = 0.0 if epoch == 0 else 1e-4 * 10 ** (epoch // 300)
        assert m.gamma_at(step) == pytest.approx(want, rel=1e-9), step
    assert _model("sound2sight", adversarial=False).gamma_at(5000) == 0.0
    m.total_steps = None
    assert m.gamma_at(0) == 1e-4  # without setup_training: constant gamma


def test_losses_cover_the_paper_range_by_default_and_context_steps_on_request() -> None:
    b = _batch()
    for on_ctx in (True, False):
        m = _model(loss_on_context=on_ctx, adversarial=False)
        torch.manual_seed(3)
        logs = m.training_step(b, m.configure_optimizers(), 0)
        m2 = _model(loss_on_context=on_ctx, adversarial=False)
        torch.manual_seed(3)
        pred = m2(b.video, b.audio)["pred"]
        assert pred.shape[1] == (6 if on_ctx else 4)  # frames 1..6 (original) or the predicted 3..6 (Eq. 2)
        want = ((pred - b.video[:, 7 - pred.shape[1] :]) ** 2).mean().item()
        assert logs["mse"] == pytest.approx(want, rel=1e-5)


def test_fooling_rate_and_checkpoint_roundtrip(tmp_path) -> None:
    m = _model("sound2sight_no_aa")
    rate = m.fooling_rate(_batch(B=4), n_samples=2)
    assert 0.0 <= rate <= 1.0 and (rate * 8) == pytest.approx(round(rate * 8))
    save_checkpoint(tmp_path / "m.pt", m)
    m2, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert type(m2) is MODELS.get("sound2sight_no_aa") and not m2.config.aa and ckpt["config"]["aa"] is False
    b = _batch(B=2)
    torch.manual_seed(0)
    a = m.sample(b.video[:, :3], b.audio, 2, 2)
    torch.manual_seed(0)
    assert torch.equal(a, m2.sample(b.video[:, :3], b.audio, 2, 2))


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="2-D audio feature"):
        s2s.Sound2Sight(dataclasses.replace(SPEC, audio_patch=None, audio_feature="raw"), s2s.Config.tiny())
    with pytest.raises(ValueError, match="audio covers"):
        _model().sample(_batch().video[:, :3], _batch().audio[:, :4], 4, 1)


def test_smoke_run_through_the_runner_stores_the_fooling_rate(tmp_path, one_thread) -> None:
    """`s2sbench run --model sound2sight --preset smoke` end to end (fewer steps): the RunResult has the rate."""
    from s2sbench.report.results import RunResult
    from s2sbench.testing import write_fake_dataset
    from s2sbench.train.runner import run

    write_fake_dataset(tmp_path / "nb", "m3so-nb", {"train": 16, "val": 8, "test": 4})
    run("sound2sight", "m3so-nb", preset="smoke", data=tmp_path / "nb", out=tmp_path / "run", progress=False,
        sets=("train.steps=4", "eval.n_samples=3"))
    r = RunResult.load(tmp_path / "run")
    assert r.model == "sound2sight" and r.train["steps"] == 4 and r.clips_used == 4
    assert r.fooling_rate is not None and 0.0 <= r.fooling_rate <= 1.0 and (r.fooling_rate * 4) % 1 == 0


def test_clamped_output_trains_and_samples_in_range() -> None:
    """``output="clamp"`` (``Config.quick()``): a step moves the decoder, and samples stay in [0, 1]."""
    m = _model(output="clamp")
    assert s2s.Config.quick().output == "clamp" and s2s.Config().output == "sigmoid"  # the paper keeps the Sigmoid
    opt = m.configure_optimizers()
    m.setup_training(10)
    before = m.decoder.out[0].weight.detach().clone()
    assert math.isfinite(m.training_step(_batch(), opt, 5)["loss"])
    assert not torch.equal(before, m.decoder.out[0].weight)
    out = m.sample(_batch().video[:, :3], _batch().audio, 4, 3)
    assert out.min() >= 0 and out.max() <= 1
