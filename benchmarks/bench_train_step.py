"""Seconds per board-config training step (``quick`` model config, batch 16, M3SO-NB shapes, random inputs) of
today's code against an earlier revision's, side by side in one process, with the step's FLOPs and this CPU's
matrix-product peak (how far a step is from its compute floor).

The earlier revision's model files are imported from a copy of its ``baselines/`` directory, made with

    git archive <rev> baselines | tar -x -C /tmp/old && mv /tmp/old/baselines /tmp/old/oldbaselines
    OMP_NUM_THREADS=1 PYTHONPATH=.:/tmp/old python benchmarks/bench_train_step.py --old oldbaselines

(the framework, ``s2sbench.models`` etc., is today's for both). The earlier revision trains on a CPU in fp32 (its
trainer autocasts on CUDA only); today's runs in the precision ``train.precision=auto`` chooses
(``s2sbench.train.precision``). The two are timed interleaved, step by step; medians of ``--reps``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import importlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from s2sbench.data.loader import Batch  # noqa: E402
from s2sbench.models import MODELS, DataSpec  # noqa: E402
from s2sbench.train.precision import cpu_bf16, use_bf16  # noqa: E402
from s2sbench.train.presets import PRESETS  # noqa: E402
from s2sbench.train.trainer import autocast  # noqa: E402


def peak(dtype: torch.dtype, n: int = 1024, reps: int = 10) -> float:
    """GFLOP/s of an n x n x n matrix product in ``dtype`` (best of ``reps``)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = min(_t(lambda: a @ b) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _t(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def build(cls, spec: DataSpec):
    return cls(spec, PRESETS.get("board").model_config_for(cls))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="sound2sight,svg_lp,audio_only,ddpae")
    ap.add_argument("--old", default="", help="package name of the earlier revision's baselines copy")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--step", type=int, default=1500, help="step index (sound2sight: in its adversarial phase)")
    args = ap.parse_args()
    spec = DataSpec.for_dataset("m3so-nb")
    T, B, cpu = spec.n_past + spec.n_future, 16, torch.device("cpu")
    torch.manual_seed(0)
    batch = Batch(torch.rand(B, T, spec.channels, spec.height, spec.width), torch.rand(B, T, spec.audio_dim),
                  torch.arange(B), [str(i) for i in range(B)])
    p32, p16 = peak(torch.float32), peak(torch.bfloat16)
    print(f"CPU bf16: {cpu_bf16()}; {torch.get_num_threads()} thread(s); matmul 1024^3 peak: fp32 {p32:.0f}, "
          f"bf16 {p16:.0f} GFLOP/s")
    print(f"{'model':12s} {'GFLOP':>6s} {'old s/step':>10s} {'new s/step':>10s} {'new prec':>8s} {'old/new':>8s} "
          f"{'new GFLOP/s':>11s} {'floor s':>8s}")
    for name in args.models.split(","):
        cls = MODELS.get(name)
        runs = {}
        if args.old:
            mod = importlib.import_module(f"{args.old}.{cls.__module__.rsplit('.', 1)[1]}")
            runs["old"] = (build(getattr(mod, cls.__name__), spec), False)
        bf = use_bf16("auto", cpu, cls)
        runs["new"] = (build(cls, spec), bf)
        opts = {k: m.configure_optimizers() for k, (m, _) in runs.items()}
        for k, (m, b) in runs.items():
            m.setup_training(3000)
            m.train()
            with autocast(cpu, b):
                m.training_step(batch, opts[k], args.step)  # warm-up
        with FlopCounterMode(display=False) as fc:
            runs["new"][0].training_step(batch, opts["new"], args.step)
        gflop = fc.get_total_flops() / 1e9
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.reps):
            for k, (m, b) in runs.items():
                with autocast(cpu, b):
                    times[k].append(_t(lambda m=m, o=opts[k]: m.training_step(batch, o, args.step)))
        med = {k: statistics.median(v) for k, v in times.items()}
        old = f"{med['old']:10.3f}" if "old" in med else f"{'-':>10s}"
        ratio = f"{med['old'] / med['new']:7.2f}x" if "old" in med else f"{'-':>8s}"
        floor = gflop / (p16 if bf else p32)
        print(f"{name:12s} {gflop:6.1f} {old} {med['new']:10.3f} {'bf16' if bf else 'fp32':>8s} {ratio} "
              f"{gflop / med['new']:11.0f} {floor:8.3f}", flush=True)


if __name__ == "__main__":
    main()
