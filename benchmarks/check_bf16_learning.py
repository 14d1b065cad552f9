"""Does a model still learn under bf16 autocast on the CPU? A memorisation check, fp32 and bf16 side by side.

Each model (``--config tiny`` or ``quick``) trains ``--steps`` steps on one fixed batch of synthetic M3SO-NB-shaped
clips (a bright 8x8 square moving on black with a fixed random velocity, its audio a fixed random pattern that
encodes the velocity), then is scored with its own sampler (``sample``, prior z) under the paper's metric (best of 4
samples) on those clips, next to a black frame and copy-last. Same seed, same batch for both precisions.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/check_bf16_learning.py [--models ...] [--steps 300]
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import time

import torch

from s2sbench.data.loader import Batch
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PAPER, apply
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.train.presets import PRESETS
from s2sbench.train.trainer import autocast


def clips(spec: DataSpec, B: int, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    T, S = spec.n_past + spec.n_future, spec.height
    video = torch.zeros(B, T, spec.channels, S, S)
    pos = torch.randint(4, S - 12, (B, 2), generator=g).float()
    vel = torch.randint(-2, 3, (B, 2), generator=g).float()
    codes = torch.rand(25, spec.audio_dim, generator=g)
    audio = torch.zeros(B, T, spec.audio_dim)
    for b in range(B):
        p, v = pos[b].clone(), vel[b].clone()
        for t in range(T):
            y, x = int(p[0]), int(p[1])
            video[b, t, :, y:y + 8, x:x + 8] = 1.0
            audio[b, t] = codes[int((v[0] + 2) * 5 + v[1] + 2)]
            p += v
            for i in range(2):  # bounce
                if p[i] < 0 or p[i] > S - 8:
                    v[i], p[i] = -v[i], p[i].clamp(0, S - 8)
    return Batch(video, audio, torch.arange(B), [str(i) for i in range(B)])


def score(pred: torch.Tensor, target: torch.Tensor) -> float:
    m = METRICS.get(PAPER.metric)
    return apply(PAPER.protocol, m.per_frame(pred.float().clamp(0, 1), target), m.higher_is_better).mean().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="sound2sight,svg_lp,audio_only,ddpae")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--config", default="tiny", choices=("tiny", "quick"))
    ap.add_argument("--bf16-steps", type=int, default=0, help="steps of the bf16 run (0: --steps); e.g. equal time")
    ap.add_argument("--set", action="append", default=[], help="model Config override KEY=VALUE (Python literal)")
    args = ap.parse_args()
    spec = DataSpec.for_dataset("m3so-nb")
    batch = clips(spec, args.batch)
    p, target = spec.n_past, batch.video[:, spec.n_past:]
    black = score(torch.zeros_like(target)[:, None], target)
    last = score(batch.video[:, p - 1:p].expand_as(target)[:, None], target)
    print(f"{args.batch} clips, {args.steps} steps, {args.config} configs; black {black:.3f}, copy_last {last:.3f}")
    preset = PRESETS.get("smoke" if args.config == "tiny" else "board")
    cpu = torch.device("cpu")
    for name in args.models.split(","):
        row = []
        for bf in (False, True):
            torch.manual_seed(0)
            cfg = preset.model_config_for(MODELS.get(name))
            cfg = dataclasses.replace(cfg, **{k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in args.set)})
            m = build_model(name, spec, cfg)
            opt = m.configure_optimizers()
            steps = args.bf16_steps if bf and args.bf16_steps else args.steps
            m.setup_training(steps)
            m.train()
            t = time.perf_counter()
            for step in range(steps):
                with autocast(cpu, bf):
                    m.training_step(batch, opt, step)
            dt = (time.perf_counter() - t) / steps
            torch.manual_seed(1)
            with torch.no_grad():
                pred = m.sample(batch.video[:, :p], batch.audio, spec.n_future, 4 if m.stochastic else 1)
            row.append(f"{'bf16' if bf else 'fp32'} {score(pred, target):.3f} ({steps} steps, {dt:.3f} s/step)")
        print(f"{name:14s} " + "   ".join(row), flush=True)


if __name__ == "__main__":
    main()
