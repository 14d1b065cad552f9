"""Every trainable registered model learns: it memorises a fixed small set of M3SO-NB clips.

Each model (its ``Config.tiny()``; Sound2Sight with its discriminator and gamma schedule) trains on the same
``CLIPS`` clips of a freshly generated M3SO-NB set, all of them in every batch, for ``STEPS`` steps
(``setup_training(STEPS)``, so step-scaled schedules run their whole course: Sound2Sight's gamma reaches its largest
value, DDPAE's learning rate drops). From step ``SETTLE`` on, every ``CHECK`` steps, it is scored with its own
sampler: ``model.sample`` (prior rollouts: the seen frames and the audio in, the predicted frames out; the mean of
``SAMPLES`` samples), ``ssim_paper`` over the predicted frames of those same clips. It passes when the mean of its
last ``WINDOW`` scores (the last quarter of the run) closes at least ``SKILL`` of the gap between the better of the
two reference predictors (a black frame, the last seen frame repeated), scored on the same clips here, and a
perfect 1, and none of those scores falls to that reference: memorised, and still memorised at the end of every
schedule (a model that learns and then collapses fails). A mean over the window, not the last scores alone: a
stochastic model's prior rollouts swing from one check to the next by more than the floating-point differences
between CPUs explain, so single checks made the verdict depend on the machine (``svg_lp``'s last two passed on an
AMD EPYC and not on an Intel Xeon).

This guards the learning dynamics, which no contract test sees: a loss term that stalls the generator (Sound2Sight's
discriminator did), an output layer that cannot reach the black background, a schedule that stops learning.
"""
from __future__ import annotations

import pytest
import torch

from s2sbench.data.loader import Batch, ClipDataset, collate
from s2sbench.eval.metrics import ssim_paper
from s2sbench.models import MODELS, DataSpec, build_model

pytestmark = pytest.mark.usefixtures("one_thread")

CLIPS = 4  # memorised clips (one batch)
N_FUTURE = 5  # predicted frames (frames 6-10 after 5 seen): short rollouts keep every model under ~20 s
STEPS = 300  # training steps of every model
CHECK = 25  # steps between scores (reported in a failure message)
SETTLE = 150  # no score before this step
SAMPLES = 2
SKILL = 0.5  # share of the gap between the best reference and 1 that the model must close
WINDOW = 4  # the scores judged: steps 225, 250, 275 and 300

# Models known not to pass yet: name -> (reason, strict). Strict where the model is far from the bar (the test then
# fails once it passes, so the entry goes); not strict where it oscillates around the bar.
KNOWN = {
    "ddpae": ("DDPAE needs far more than 300 steps: with the sprite scale fixed at S (tiny, quick) 0.58 at 250 steps, "
              "0.89-0.90 at 2000-3000 (the bar is 0.90); with the original's inferred scale it stayed at 0.60-0.63 "
              "for 3000 steps (docs/training-dynamics.md)", True),
    "vougioukas": ("its adversarial terms undo the memorised frames: their generator gradient grows from 0.02 to 1.25 "
                   "of the L1 term's as L1 falls, the score oscillates 0.78-0.95 (0.996 with the adversarial weights "
                   "at 0); docs/training-dynamics.md", False),
}
TRAINABLE = [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n][0], strict=KNOWN[n][1])) if n in KNOWN else n
             for n in MODELS.keys()
             if MODELS.get(n).trainable and MODELS.get(n).__module__ != "s2sbench.testing"]  # not the test dummy


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Batch, DataSpec]:
    """The first ``CLIPS`` training clips of an M3SO-NB set made by the project's generator, 10 frames each."""
    from s2sbench.generators.m3so import make_m3so

    root = tmp_path_factory.mktemp("m3so_nb")
    make_m3so(root, variant="nb", n=CLIPS, n_val=0, n_test=0, workers=1, progress=False)
    spec = DataSpec.for_dataset("m3so-nb")
    spec = DataSpec(**{**spec.to_dict(), "n_future": N_FUTURE})
    ds = ClipDataset(root, "train", num_frames=spec.n_past + N_FUTURE, audio_features=spec.audio_feature)
    return collate([ds[i] for i in range(CLIPS)]), spec


def references(batch: Batch, n_past: int) -> dict[str, float]:
    """ssim_paper of the black frame and of copy_last over the predicted frames of ``batch``."""
    future = batch.video[:, n_past:]
    last = batch.video[:, n_past - 1 : n_past].expand_as(future)
    return {"black": ssim_paper(torch.zeros_like(future), future).mean().item(),
            "copy_last": ssim_paper(last, future).mean().item()}


def rollout_ssim(model, batch: Batch, n_past: int) -> float:
    """Mean ssim_paper of ``SAMPLES`` prior rollouts per clip over its predicted frames (the model's own sampler)."""
    x = batch.video
    torch.manual_seed(1)
    with torch.no_grad():
        pred = model.sample(x[:, :n_past], batch.audio, x.shape[1] - n_past, SAMPLES)  # (B, S, F, C, H, W)
    return ssim_paper(pred, x[:, None, n_past:].expand_as(pred)).mean().item()


def memorise(name: str, batch: Batch, spec: DataSpec, config=None) -> list[tuple[int, float]]:
    """Train ``name`` on ``batch`` for ``STEPS`` steps; its rollout scores (step, ssim_paper) from ``SETTLE`` on."""
    torch.manual_seed(0)
    model = build_model(name, spec, config if config is not None else MODELS.get(name).Config.tiny())
    model.setup_training(STEPS)
    model.train()
    opt = model.configure_optimizers()
    scores: list[tuple[int, float]] = []
    for step in range(STEPS):
        model.training_step(batch, opt, step)
        if (step + 1) % CHECK == 0 and step + 1 >= SETTLE:
            scores.append((step + 1, round(rollout_ssim(model, batch, spec.n_past), 4)))
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINABLE)
def test_memorises_small_set_with_own_sampler(name: str, clips) -> None:
    batch, spec = clips
    refs = references(batch, spec.n_past)
    best = max(refs.values())
    bar = best + SKILL * (1 - best)
    scores = memorise(name, batch, spec)
    print(f"{name}: bar {bar:.3f}, black {refs['black']:.3f}, copy_last {refs['copy_last']:.3f}, scores {scores}")
    last = [s for _, s in scores[-WINDOW:]]
    assert sum(last) / WINDOW >= bar and min(last) > best, (
        f"{name} did not memorise {CLIPS} M3SO-NB clips in {STEPS} steps with its own sampler: rollout ssim_paper "
        f"(step, score) {scores}, the last {WINDOW} must average {bar:.3f} and each beat {best:.3f} (black "
        f"{refs['black']:.3f}, copy_last {refs['copy_last']:.3f})")


# ---- the schedules the learning depends on (fast) -----------------------------------------------------------------
SMALL = DataSpec(channels=1, height=16, width=16, audio_dim=8 * 7, audio_patch=(8, 7), n_past=3, n_future=4)


def _tiny(name: str, **over):
    import dataclasses

    torch.manual_seed(0)
    return build_model(name, SMALL, dataclasses.replace(MODELS.get(name).Config.tiny(), **over))


@pytest.mark.parametrize("schedule, multipliers", [("paper", (1, 10, 100, 1000)), ("code", (1, 5, 10, 100))])
def test_gamma_schedules_of_the_paper_and_the_original_code(schedule: str, multipliers: tuple) -> None:
    m = _tiny("sound2sight", gamma_schedule=schedule)
    m.setup_training(1001 * 10)  # 10 steps per "epoch" of the paper's 1001
    for step in (0, 9, 10, 2999, 3000, 5999, 6000, 8999, 9000, 10009):
        epoch = step // 10
        want = 0.0 if epoch == 0 else 1e-4 * multipliers[min(epoch // 300, 3)]
        assert m.gamma_at(step) == pytest.approx(want, rel=1e-9), step
    m.set_progress(0.95)  # the trainer's budget share overrides the step count
    assert m.gamma_at(0) == pytest.approx(1e-4 * multipliers[3], rel=1e-9)


def test_gamma_per_frame_weighs_l_adv_against_the_frame_summed_error() -> None:
    frame, pixel = _tiny("sound2sight", gamma_per="frame"), _tiny("sound2sight", gamma_per="pixel")
    for m in (frame, pixel):
        m.setup_training(1001)
    assert frame.adversarial_weight(500) == pytest.approx(frame.gamma_at(500) / (16 * 16), rel=1e-9)
    assert pixel.adversarial_weight(500) == pixel.gamma_at(500) > 0


def test_ddpae_lr_drops_at_the_share_of_the_budget_run() -> None:
    m = _tiny("ddpae")
    lr = m.config.lr
    m.setup_training(100)
    assert m.lr_at(49) == lr and m.lr_at(50) == pytest.approx(0.1 * lr)
    m.set_progress(0.6)  # a CPU budget used at 60 % by step 10 of 100 planned
    assert m.lr_at(10) == pytest.approx(0.1 * lr)
    opt = m.configure_optimizers()
    batch = Batch(torch.rand(2, 7, 1, 16, 16), torch.rand(2, 7, 56), torch.arange(2), ["a", "b"])
    m.training_step(batch, opt, 10)
    assert opt["model"].param_groups[0]["lr"] == pytest.approx(0.1 * lr)
