"""Speed of Sound2Sight on the CPU: seconds per training iteration (warm start and adversarial phase) and samples/s.

Configuration: M3SO-NB shapes (48x48x1 frames, 23x21 STFT patches), batch 8, 5 seen + 15 predicted
frames, the paper's model (``Config()``), random inputs (speed does not depend on the pixels).

Two references are printed next to each figure:
- **same run**: the same model and weights computed the way the original computes them (per time step, re-encoding
  every prefix with the frame/audio encoders and the transformers, the discriminator per step, one sample at a time
  in generation), timed interleaved with the fast form so both see the same machine load;
- **original**: the original code's figures on this machine class (quoted from notes on the original code, not
  re-measured here): 5.02 s/iter in the warm start (epoch 0,
  no adversarial term) and 6.95 s/iter with the adversarial term at batch 8; its end-of-epoch ``plot()`` sampled
  20 futures x 24 frames for 8 clips in about 30 s (about 5.3 samples/s, 128 frames/s).

Figures are medians over ``--reps`` repetitions (wall clock, torch's default threads, plus the process CPU time per
iteration, which other processes on a shared machine disturb much less). ``OMP_WAIT_POLICY`` defaults to PASSIVE
here: on a machine shared with other busy processes, spinning OpenMP threads wait for descheduled peers and made a
training step 5x slower in our measurements. The last line reads ``adversarial phase: <seconds> s/iter``.
The adversarial phase is also timed (in a block after the others) with the discriminator's encoders frozen
(``disc_train_encoders=False``): the original detaches their inputs, so its 6.95 s never included their backward
pass, which learning them adds.
The adversarial phase is timed once more with the plain ``nn`` modules (``Config.fast=False``), the ratio being what
the CPU fast path of the conv blocks buys.
The fast form runs in the precision ``train.precision`` chooses (``--precision auto``: bf16 autocast on a CPU with
native bf16, ``s2sbench.train.precision``); the same-run stepwise reference runs in fp32, as the original.
Usage: ``python benchmarks/bench_sound2sight.py [--reps 5] [--no-reference] [--no-frozen] [--no-plain] [--threads N]
[--precision auto|fp32|bf16]``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its OpenMP runtime

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from s2sbench.baselines._sequence import kl_gaussians, reparameterise  # noqa: E402
from s2sbench.baselines._sound2sight_disc import reverse_gradient  # noqa: E402
from s2sbench.baselines.sound2sight import Sound2Sight  # noqa: E402
from s2sbench.data.loader import Batch  # noqa: E402
from s2sbench.models import DataSpec, build_model  # noqa: E402
from s2sbench.train.precision import cpu_bf16, use_bf16  # noqa: E402
from s2sbench.train.trainer import autocast  # noqa: E402

ORIGINAL = {"warm": 5.02, "adv": 6.95}  # s/iter, the original code at batch 8 on 2 cores (quoted)
ORIGINAL_SAMPLES_PER_S = 8 * 20 / 30.0  # plot(): 20 samples x 8 clips (24 frames each) in about 30 s


def stepwise_step(m: Sound2Sight, batch: Batch, opt: dict, step: int) -> None:
    """One training iteration of ``m`` computed per time step as the original does (same losses and updates)."""
    video, audio = batch.video, batch.audio
    B, T = video.shape[:2]
    p, gamma = m.spec.n_past, m.gamma_at(step)
    start = 1 if m.config.loss_on_context else p
    sp = sq = sg = skips = None
    mse = kl = d_loss = torch.zeros(())
    for i in range(1, T):
        h, sk = m.encoder(video[:, i - 1])
        skips = sk if i <= p else skips
        hp = m.encoder(video[:, :i].flatten(0, 1))[0].view(B, i, -1)  # the prefix, re-encoded every step
        hq = m.encoder(video[:, : i + 1].flatten(0, 1))[0].view(B, i + 1, -1)
        ha = m.audio_encoder(audio[:, : i + 1].flatten(0, 1)).view(B, i + 1, -1)
        o = m.audio_stream(ha)[0][:, -1]
        mu_p, lv_p, sp = m.prior(torch.cat([m.prior_stream(hp)[0][:, -1], o], -1)[:, None], sp)
        mu_q, lv_q, sq = m.posterior(torch.cat([m.posterior_stream(hq)[0][:, -1], o], -1)[:, None], sq)
        g, sg = m.predictor(torch.cat([h[:, None], reparameterise(mu_p, lv_p)], -1), sg)
        if i < start:
            continue
        x = m.decoder(g[:, 0], skips)  # (B, C, H, W)
        mse = mse + torch.mean((x - video[:, i]) ** 2)
        kl = kl + kl_gaussians(mu_q, lv_q, mu_p, lv_p)
        if i >= m.disc.first_judged(p):
            fake = reverse_gradient(x, gamma) if gamma > 0 else x.detach()
            d_loss = d_loss + m.disc.losses(video[:, : i + 1], audio[:, : i + 1], fake[:, None], i)[0]
    for o_ in opt.values():
        o_.zero_grad(set_to_none=True)
    n = T - start
    ((mse + m.config.beta * kl) / n + d_loss / (T - m.disc.first_judged(p))).backward()
    for o_ in opt.values():
        o_.step()


@torch.no_grad()
def stepwise_sample(m: Sound2Sight, context: torch.Tensor, audio: torch.Tensor, n_future: int, S: int) -> None:
    """The original's generation: one sample at a time, every prefix re-encoded at every step."""
    m.eval()
    B, p = context.shape[:2]
    for _ in range(S):
        frames, sp, sg, skips = list(context.unbind(1)), None, None, None
        for i in range(1, p + n_future):
            h, sk = m.encoder(frames[i - 1])
            skips = sk if i <= p else skips
            hp = m.encoder(torch.stack(frames[:i], 1).flatten(0, 1))[0].view(B, i, -1)
            o = m.audio_stream(m.audio_encoder(audio[:, : i + 1].flatten(0, 1)).view(B, i + 1, -1))[0][:, -1]
            mu, lv, sp = m.prior(torch.cat([m.prior_stream(hp)[0][:, -1], o], -1)[:, None], sp)
            g, sg = m.predictor(torch.cat([h[:, None], reparameterise(mu, lv)], -1), sg)
            if i >= p:
                frames.append(m.decoder(g[:, 0], skips))


CPU: list[float] = []  # process CPU seconds of every timed call, in order


def timed(fn) -> float:
    t, c = time.perf_counter(), time.process_time()
    fn()
    CPU.append(time.process_time() - c)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions per figure (median reported)")
    ap.add_argument("--ref-reps", type=int, default=2, help="repetitions of the slow same-run reference")
    ap.add_argument("--no-reference", action="store_true", help="skip the same-run stepwise reference")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--no-frozen", action="store_true",
                    help="skip timing the model with frozen discriminator encoders (the original's computation)")
    ap.add_argument("--no-plain", action="store_true", help="skip timing the plain nn modules (Config.fast=False)")
    ap.add_argument("--samples", type=int, default=100, help="futures sampled per clip in the inference figure")
    ap.add_argument("--precision", default="auto", help="precision of the fast form: auto, fp32 or bf16")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = DataSpec.for_dataset("m3so-nb")
    m = build_model("sound2sight", spec)
    B, T = 8, spec.n_past + spec.n_future
    batch = Batch(torch.rand(B, T, spec.channels, spec.height, spec.width), torch.rand(B, T, spec.audio_dim),
                  torch.arange(B), [str(i) for i in range(B)])
    opt = m.configure_optimizers()
    bf = use_bf16(args.precision, torch.device("cpu"), m)

    def train_step(model, o, step):
        with autocast(torch.device("cpu"), bf):
            model.training_step(batch, o, step)

    m.setup_training(1001)  # step 0: the warm start (gamma = 0); step 500: adversarial (gamma = 1e-3)
    print(f"Sound2Sight speed: batch {B}, {spec.n_past} seen + {spec.n_future} predicted frames, "
          f"{spec.height}x{spec.width}x{spec.channels}, STFT {spec.audio_patch[0]}x{spec.audio_patch[1]}, "
          f"{m.num_parameters() / 1e6:.2f} M parameters, {torch.get_num_threads()} threads, "
          f"{'bf16 autocast' if bf else 'fp32'} (CPU bf16: {cpu_bf16()})")
    fast: dict[str, float] = {}
    cpu: dict[str, float] = {}
    ref: dict[str, float] = {}
    for phase, step in (("warm", 0), ("adv", 500)):
        m.train()
        train_step(m, opt, step)  # warm-up of the allocator and oneDNN kernels
        f_times, r_times = [], []
        f_cpu = []
        for r in range(args.reps):
            f_times.append(timed(lambda: train_step(m, opt, step)))
            f_cpu.append(CPU[-1])
            if not args.no_reference and r < args.ref_reps:
                m.train()
                r_times.append(timed(lambda: stepwise_step(m, batch, opt, step)))
        fast[phase], cpu[phase] = statistics.median(f_times), statistics.median(f_cpu)
        if r_times:
            ref[phase] = statistics.median(r_times)
    fr = None  # s/iter of the original's computation
    if not args.no_frozen:
        # The original's discriminator encoders never learn (it detaches their inputs), so its 6.95 s did not
        # include their backward pass: the same model with them frozen, timed in its own block (interleaving two
        # models step by step slowed both by 5-20 %).
        torch.manual_seed(0)
        frozen = build_model("sound2sight", spec, dataclasses.replace(m.config, disc_train_encoders=False))
        frozen_opt = frozen.configure_optimizers()
        frozen.setup_training(1001)
        train_step(frozen, frozen_opt, 500)
        fr = statistics.median(timed(lambda: train_step(frozen, frozen_opt, 500)) for _ in range(args.reps))
        del frozen, frozen_opt
    pl = None  # s/iter of the plain nn modules
    if not args.no_plain:
        torch.manual_seed(0)
        plain = build_model("sound2sight", spec, dataclasses.replace(m.config, fast=False))
        plain_opt = plain.configure_optimizers()
        plain.setup_training(1001)
        train_step(plain, plain_opt, 500)
        pl = statistics.median(timed(lambda: train_step(plain, plain_opt, 500)) for _ in range(args.reps))
        del plain, plain_opt
    ctx, n_future = batch.video[:, : spec.n_past], spec.n_future
    m.sample(ctx, batch.audio, n_future, 4)
    s_time = statistics.median(timed(lambda: m.sample(ctx, batch.audio, n_future, args.samples))
                               for _ in range(max(1, args.reps // 2)))
    sps = B * args.samples / s_time
    ref_sps = None
    if not args.no_reference:
        ref_sps = B * 2 / timed(lambda: stepwise_sample(m, ctx, batch.audio, n_future, 2))

    names = {"warm": "warm start (no adversarial term)", "adv": "adversarial phase"}
    print(f"{'phase':34s} {'s/iter':>8s} {'CPU s':>6s} {'stepwise (same run)':>20s} {'ratio':>7s} "
          f"{'original (ref.)':>16s} {'ratio':>7s}")
    for phase in ("warm", "adv"):
        r = f"{ref[phase]:20.2f} {ref[phase] / fast[phase]:6.1f}x" if phase in ref else f"{'-':>20s} {'-':>7s}"
        print(f"{names[phase]:34s} {fast[phase]:8.3f} {cpu[phase]:6.2f} {r} {ORIGINAL[phase]:16.2f} "
              f"{ORIGINAL[phase] / fast[phase]:6.1f}x")
    r = f"; stepwise one-sample-at-a-time (same run) {ref_sps:.1f} samples/s, ratio {sps / ref_sps:.1f}x" \
        if ref_sps else ""
    print(f"inference: {args.samples} samples x {B} clips x {n_future} frames in {s_time:.2f} s = {sps:.1f} samples/s "
          f"({sps * n_future:.0f} frames/s){r}; original plot() (ref.) ~{ORIGINAL_SAMPLES_PER_S:.1f} samples/s "
          f"of 24 frames ({ORIGINAL_SAMPLES_PER_S * 24:.0f} frames/s), "
          f"ratio {sps * n_future / (ORIGINAL_SAMPLES_PER_S * 24):.1f}x in frames/s")
    if fr is not None:
        print(f"adversarial phase with the discriminator's encoders frozen (the original's computation, "
              f"disc_train_encoders=False): {fr:.3f} s/iter, {ORIGINAL['adv'] / fr:.1f}x the original's "
              f"{ORIGINAL['adv']:.2f} s; learning them costs {fast['adv'] / fr:.2f}x")
    if pl is not None:
        print(f"adversarial phase with the plain nn modules (Config.fast=False): {pl:.3f} s/iter; the fast path is "
              f"{pl / fast['adv']:.2f}x faster")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores shared with other processes)")
    print(f"adversarial phase: {fast['adv']:.3f} s/iter")


if __name__ == "__main__":
    main()
