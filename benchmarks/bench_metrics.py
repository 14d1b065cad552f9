"""Speed of ``s2sbench.eval.metrics.ssim_paper`` (and ``ssim``, ``psnr``) against a per-frame scikit-image loop.

The workload is the evaluator's hot path: 100 samples x 20 predicted 48x48 frames per clip scored against the
shared ground truth. Both sides are timed in this run, alternately, several times; the best (least disturbed)
time of each is kept, since other processes share this machine. The scikit-image loop is timed on a sample of the
frames and extrapolated per frame. Prints the per-frame times and the speed ratio, for 1 torch thread (a like-for-like
comparison with the single-threaded loop) and for torch's default thread count.

    PYTHONPATH=. python benchmarks/bench_metrics.py [--clips 2] [--repeats 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from s2sbench.eval.metrics import psnr, ssim, ssim_paper

SK = {
    "ssim_paper": lambda a, b: structural_similarity(a, b, data_range=2.0),
    "ssim": lambda a, b: structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                               use_sample_covariance=False),
    "psnr": lambda a, b: peak_signal_noise_ratio(a, b, data_range=1.0),
}
TORCH = {"ssim_paper": ssim_paper, "ssim": ssim, "psnr": psnr}


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=2, help="clips of 100 samples x 20 frames scored by torch per call")
    ap.add_argument("--sk-frames", type=int, default=200, help="frames scored by the scikit-image loop per timing")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    B, S, T, H = args.clips, 100, 20, 48
    target = rng.random((B, T, 1, H, H), dtype=np.float32)
    pred = np.clip(target[:, None] + 0.2 * rng.standard_normal((B, S, T, 1, H, H)), 0, 1).astype(np.float32)
    tp, tt = torch.from_numpy(pred), torch.from_numpy(target)
    n_torch = B * S * T
    flat_p, flat_t = pred[0].reshape(S * T, H, H), np.broadcast_to(target[0], (S, T, 1, H, H)).reshape(S * T, H, H)
    default_threads = torch.get_num_threads()
    print(f"workload: {B} clips x {S} samples x {T} frames of {H}x{H} (torch); scikit-image loop on "
          f"{args.sk_frames} frames; best of {args.repeats}; torch {torch.__version__}")
    for name in ("ssim_paper", "ssim", "psnr"):
        sk, fn = SK[name], TORCH[name]

        def loop():
            for i in range(args.sk_frames):
                sk(flat_p[i], flat_t[i])

        res = {}
        for threads in sorted({1, default_threads}):
            torch.set_num_threads(threads)
            fn(tp, tt.unsqueeze(1))  # warm-up
            t_sk, t_torch = float("inf"), float("inf")
            for _ in range(args.repeats):  # alternate, keep the best of each
                t_sk = min(t_sk, best_time(loop, 1) / args.sk_frames)
                t_torch = min(t_torch, best_time(lambda: fn(tp, tt.unsqueeze(1)), 1) / n_torch)
            res[threads] = (t_sk, t_torch)
        torch.set_num_threads(default_threads)
        for threads, (t_sk, t_torch) in res.items():
            print(f"{name:10s} torch threads={threads}: scikit-image {t_sk * 1e6:7.1f} us/frame, torch "
                  f"{t_torch * 1e6:6.1f} us/frame, ratio {t_sk / t_torch:5.1f}x")


if __name__ == "__main__":
    main()
