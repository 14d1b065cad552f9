"""bf16 autocast against fp32 on the CPU: seconds per board-config training step (``quick`` model config, batch 16,
M3SO-NB shapes, random inputs) of several models, both precisions timed interleaved in one process (the ratio is
what counts on a shared machine), with the CPU's native bf16 support (``s2sbench.train.precision.cpu_bf16``).

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_precision.py [--models sound2sight,svg_lp] [--reps 5]

Prints one line per model: fp32 s/step, bf16 s/step, their ratio (> 1: bf16 faster); medians of ``--reps``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from s2sbench.data.loader import Batch  # noqa: E402
from s2sbench.models import DataSpec, build_model  # noqa: E402
from s2sbench.train.precision import cpu_bf16  # noqa: E402
from s2sbench.train.presets import PRESETS  # noqa: E402
from s2sbench.train.trainer import autocast  # noqa: E402

MODELS = "sound2sight,svg_lp,audio_only,ddpae"


def board_model(name: str, spec: DataSpec):
    from s2sbench.models import MODELS as REG
    return build_model(name, spec, PRESETS.get("board").model_config_for(REG.get(name)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--step", type=int, default=1500, help="step index (sound2sight: in its adversarial phase)")
    args = ap.parse_args()
    spec = DataSpec.for_dataset("m3so-nb")
    T, B = spec.n_past + spec.n_future, args.batch
    torch.manual_seed(0)
    batch = Batch(torch.rand(B, T, spec.channels, spec.height, spec.width), torch.rand(B, T, spec.audio_dim),
                  torch.arange(B), [str(i) for i in range(B)])
    cpu = torch.device("cpu")
    print(f"CPU bf16: {cpu_bf16()}; torch {torch.__version__}, {torch.get_num_threads()} threads, batch {B}")
    print(f"{'model':14s} {'fp32 s/step':>12s} {'bf16 s/step':>12s} {'fp32/bf16':>10s}")
    for name in args.models.split(","):
        m = board_model(name, spec)
        opt = m.configure_optimizers()
        m.setup_training(3000)
        m.train()
        times: dict[bool, list[float]] = {False: [], True: []}
        for bf in (False, True):  # warm-up of both kernels
            with autocast(cpu, bf):
                m.training_step(batch, opt, args.step)
        for _ in range(args.reps):
            for bf in (False, True):
                t = time.perf_counter()
                with autocast(cpu, bf):
                    m.training_step(batch, opt, args.step)
                times[bf].append(time.perf_counter() - t)
        f, b = statistics.median(times[False]), statistics.median(times[True])
        print(f"{name:14s} {f:12.3f} {b:12.3f} {f / b:9.2f}x", flush=True)


if __name__ == "__main__":
    main()
