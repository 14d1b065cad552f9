"""Score a constant frame (every pixel = VALUE; 0 = black, M3SO's background) as the prediction of every future
frame of the first N test clips, under ``ssim_paper`` (the paper's SSIM), and print it next to ``copy_last``.

A sanity floor for the tables: on M3SO a prediction is mostly background, and ``ssim_paper`` (data range 2) rewards
an exactly black background more than a correct digit on a faintly grey one. Not a model, not in the paper.
Usage: ``python scripts/score_constant.py data/m3so-nb --clips 50 [--value 0]``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from s2sbench.data.datasets import DATASETS
from s2sbench.data.loader import ClipDataset
from s2sbench.eval.metrics import ssim_paper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="dataset directory (written by s2sbench make-m3so)")
    ap.add_argument("--dataset", default=None, help="registered dataset name (default: the directory's name)")
    ap.add_argument("--clips", type=int, default=50, help="first N test clips (the board preset: 50)")
    ap.add_argument("--value", type=float, default=0.0, help="the constant pixel value in [0, 1]")
    args = ap.parse_args()
    name = args.dataset or Path(args.data).name
    info = DATASETS.get(name)  # the test horizon: n_past seen + n_future_test predicted frames, as the evaluator
    ds = ClipDataset(args.data, "test", num_frames=info.test_frames)
    n = min(args.clips, len(ds))
    video = torch.stack([ds[i]["video"] for i in range(n)])  # (N, T, C, H, W)
    future = video[:, info.n_past :]
    const = ssim_paper(torch.full_like(future, args.value), future).mean(0)  # (n_future,)
    last = ssim_paper(video[:, info.n_past - 1 : info.n_past].expand_as(future), future).mean(0)
    print(f"{name}: first {n} test clips, ssim_paper per predicted frame (deterministic: best of K = the frame)")
    print(f"{'frame':>5s} {'const ' + format(args.value, 'g'):>10s} {'copy_last':>10s}")
    for j in range(future.shape[1]):
        print(f"{info.n_past + j + 1:5d} {const[j].item():10.4f} {last[j].item():10.4f}")
    print(f"{'avg':>5s} {const.mean().item():10.4f} {last.mean().item():10.4f}")


if __name__ == "__main__":
    main()
