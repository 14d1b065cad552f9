"""Memorisation curves: a model trained on a fixed small set of M3SO-NB clips, scored with its own sampler.

Trains one registered model (its ``tiny`` / ``quick`` / paper config, ``--set key=value`` overrides) on the first
``--clips`` training clips of a freshly generated M3SO-NB set (``generators.m3so.make_m3so``), in fixed batches of
``--batch`` clips cycled in order, and every ``--every`` steps scores prior rollouts (``model.sample``: the seen
frames and the audio in, the predicted frames out) on those same clips with ``ssim_paper`` over the predicted frames
(mean over clips, frames and ``--samples`` samples), beside the black frame and ``copy_last`` on the same clips.
For Sound2Sight it also logs the discriminator's P(real) of generated frames and, with ``--grads``, the generator
gradient norms of L_V and of gamma * L_adv (and their cosine), measured on the training batch before the step.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_learning.py sound2sight --config quick --steps 400 \
        --every 50 --grads > /tmp/s2s.log

Output: one JSON line per evaluation (and per ``--log-every`` training step), then a summary line.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from s2sbench.config import override
from s2sbench.data.loader import ClipDataset, collate
from s2sbench.eval.metrics import ssim_paper
from s2sbench.generators.m3so import make_m3so
from s2sbench.models import MODELS, DataSpec, build_model


def clips(root: Path, n: int, frames: int, feature: str):
    ds = ClipDataset(root, "train", num_frames=frames, audio_features=feature)
    return collate([ds[i] for i in range(n)])


def rollout_scores(model, batch, n_past: int, samples: int) -> dict[str, float]:
    """Mean ssim_paper of ``samples`` prior rollouts per clip over the predicted frames, and the haze: the mean
    predicted value on truly black target pixels and the share of those predicted above 0.02."""
    x = batch.video
    with torch.no_grad():
        pred = model.sample(x[:, :n_past], batch.audio, x.shape[1] - n_past, samples)  # (B, S, F, C, H, W)
    target = x[:, None, n_past:].expand_as(pred)
    black = target == 0
    return {"ssim": ssim_paper(pred, target).mean().item(), "haze_mean": pred[black].mean().item(),
            "haze_share": (pred[black] > 0.02).float().mean().item()}


def reference_ssim(batch, n_past: int) -> dict[str, float]:
    x = batch.video
    fut = x[:, n_past:]
    black = torch.zeros_like(fut)
    last = x[:, n_past - 1 : n_past].expand_as(fut)
    return {"black": ssim_paper(black, fut).mean().item(), "copy_last": ssim_paper(last, fut).mean().item()}


def grad_probe(model, batch, step: int) -> dict[str, float]:
    """Sound2Sight: generator gradient norms of L_V and gamma * L_adv on ``batch`` (no parameter update)."""
    from s2sbench.baselines.sound2sight_disc import reverse_gradient

    if getattr(model, "disc", None) is None:
        return {}
    params = [p for p in model.generator_parameters() if p.requires_grad]
    video, audio, p = batch.video, batch.audio, model.spec.n_past
    gamma = model.adversarial_weight(step)
    if gamma == 0:  # warm start: probe at the first gamma of the schedule
        per = model.spec.channels * model.spec.height * model.spec.width if model.config.gamma_per == "frame" else 1
        gamma = model.config.gamma / per
    rng = torch.get_rng_state()
    out = model.teacher_forced(video, audio)
    pred = out["pred"]
    from s2sbench.baselines._blocks import kl_gaussians

    mse = ((pred - video[:, -pred.shape[1]:]) ** 2).mean()
    lv = mse + model.config.beta * kl_gaussians(out["mu_q"], out["lv_q"], out["mu_p"], out["lv_p"])
    g_v = torch.autograd.grad(lv, params, retain_graph=True, allow_unused=True)
    judged = model.disc.judged(video.shape[1], p)
    first = video.shape[1] - pred.shape[1]
    fake = reverse_gradient(pred[:, judged.start - first: judged.stop - first], gamma)
    d_loss, _ = model.disc.losses(video, audio, fake, p)
    g_a = torch.autograd.grad(d_loss, params, allow_unused=True)
    torch.set_rng_state(rng)
    fv = torch.cat([(g if g is not None else torch.zeros_like(q)).flatten() for g, q in zip(g_v, params)])
    fa = torch.cat([(g if g is not None else torch.zeros_like(q)).flatten() for g, q in zip(g_a, params)])
    nv, na = fv.norm().item(), fa.norm().item()
    return {"gnorm_v": nv, "gnorm_adv": na, "adv_over_v": na / max(nv, 1e-30),
            "cos": (fv @ fa).item() / max(nv * na, 1e-30), "frac_below_eps": (fv.abs() < 1e-8).float().mean().item(),
            "frac_adv_dominates": (fa.abs() > fv.abs()).float().mean().item()}


def grad_probe_vougioukas(model, batch) -> dict[str, float]:
    """Vougioukas: generator gradient norms of the weighted L1 term and of the weighted adversarial terms."""
    from s2sbench.baselines.vougioukas import _bce

    c, P = model.config, model.spec.n_past
    x, audio = batch.video, batch.audio
    params = [p for p in model.generator.parameters() if p.requires_grad]
    rng = torch.get_rng_state()
    ident = model.identity_input(x[:, :P])
    fake = model.generator(ident, audio, x.shape[1] - P)
    clip = torch.cat([x[:, :P], fake], 1)
    l1 = c.w_l1 * torch.mean(torch.abs(fake - x[:, P:]))
    adv = c.w_frame * _bce(model.frame_d(fake, ident), True) + c.w_seq * _bce(model.seq_d(clip, audio), True)
    if model.sync_d is not None:
        s_gen = model._sync_starts(x.shape[0], x.shape[1], x.device)[2]
        adv = adv + c.w_sync * _bce(model.sync_d(*model._windows(clip, audio, s_gen, s_gen)), True)
    g1 = torch.autograd.grad(l1, params, retain_graph=True, allow_unused=True)
    ga = torch.autograd.grad(adv, params, allow_unused=True)
    torch.set_rng_state(rng)
    f1 = torch.cat([(g if g is not None else torch.zeros_like(q)).flatten() for g, q in zip(g1, params)])
    fa = torch.cat([(g if g is not None else torch.zeros_like(q)).flatten() for g, q in zip(ga, params)])
    n1, na = f1.norm().item(), fa.norm().item()
    return {"gnorm_l1": n1, "gnorm_adv": na, "adv_over_l1": na / max(n1, 1e-30),
            "cos": (f1 @ fa).item() / max(n1 * na, 1e-30),
            "frac_adv_dominates": (fa.abs() > f1.abs()).float().mean().item()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--config", default="tiny", choices=["tiny", "quick", "paper"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--total-steps", type=int, default=0, help="setup_training(total) (default: --steps)")
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--n-future", type=int, default=15)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default="", help="existing dataset folder (default: generate one in a temp dir)")
    ap.add_argument("--grads", action="store_true")
    ap.add_argument("--adam-eps", type=float, default=0.0, help="> 0: override every optimiser's eps")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cls = MODELS.get(a.model)
    cfg = {"tiny": cls.Config.tiny, "quick": getattr(cls.Config, "quick", cls.Config), "paper": cls.Config}[a.config]()
    cfg = override(cfg, a.set)
    spec = DataSpec.for_dataset("m3so-nb")
    spec = DataSpec(**{**spec.to_dict(), "n_future": a.n_future})
    root = Path(a.data) if a.data else Path(tempfile.mkdtemp(prefix="s2s_learn_"))
    if not a.data:
        make_m3so(root, variant="nb", n=a.clips, n_val=0, n_test=0, workers=1, progress=False)
    data = clips(root, a.clips, spec.n_past + spec.n_future, spec.audio_feature)
    refs = reference_ssim(data, spec.n_past)
    torch.manual_seed(a.seed)
    model = build_model(a.model, spec, cfg)
    model.setup_training(a.total_steps or a.steps)
    opt = model.configure_optimizers()
    for o in opt.values():
        for g in o.param_groups:
            g["eps"] = a.adam_eps or g["eps"]
    batches = [collate_slice(data, i, a.batch) for i in range(0, a.clips, a.batch)]
    print(json.dumps({"model": a.model, "config": a.config, "set": a.set, **refs}), flush=True)
    t0, best = time.perf_counter(), 0.0
    for step in range(a.steps + 1):
        if step % a.every == 0 or step == a.steps:
            model.eval()
            torch.manual_seed(1234)
            r = rollout_scores(model, data, spec.n_past, a.samples)
            model.train()
            s = r["ssim"]
            best = max(best, s)
            print(json.dumps({"step": step, **{k: round(v, 4) for k, v in r.items()},
                              "s_per_step": round((time.perf_counter() - t0) / max(step, 1), 3)}), flush=True)
        if step == a.steps:
            break
        b = batches[step % len(batches)]
        probe = {}
        if a.grads and step % a.log_every == 0:
            probe = grad_probe_vougioukas(model, b) if a.model.startswith("vougioukas") else grad_probe(model, b, step)
        logs = model.training_step(b, opt, step)
        if step % a.log_every == 0:
            print(json.dumps({"step": step, **{k: round(v, 6) for k, v in {**logs, **probe}.items()}}), flush=True)
    print(json.dumps({"done": a.steps, "final_ssim": round(s, 4), "best_ssim": round(best, 4), **refs,
                      "wall_s": round(time.perf_counter() - t0, 1)}), flush=True)


def collate_slice(batch, i: int, n: int):
    from s2sbench.data.loader import Batch

    return Batch(batch.video[i: i + n], batch.audio[i: i + n], batch.index[i: i + n], batch.ids[i: i + n])


if __name__ == "__main__":
    main()
