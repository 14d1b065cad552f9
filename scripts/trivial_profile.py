"""The trivial predictors on M3SO for several block sizes: what a model must beat, next to the original's data.

For each ``--block-size`` the script generates (in memory, seed 0) ``--train`` training clips and the first
``--clips`` test clips and scores three predictions of every future frame under the paper's protocol
(``ssim_paper`` and PSNR; deterministic, so best-of-N is the prediction itself): a black frame (the background),
the mean training frame of that frame index, and ``copy_last`` (the last seen frame). It prints them at M3SO's
table frames 31 / 42 / 70 and the share of clips whose motion was drawn again because the block had no place at
frame 42 (``m3so_physics.simulate_clips``). A block size that cannot be placed for some clips is scored on the
clips where it can, and says so. Usage: ``python scripts/trivial_profile.py --block-size 10 16 24 32``.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from s2sbench.data.datasets import DATASETS
from s2sbench.errors import ConfigError
from s2sbench.eval.metrics import psnr, ssim_paper
from s2sbench.generators.m3so import SPLIT_CODES, generate_clips
from s2sbench.generators.m3so_physics import draw, simulate
from s2sbench.generators.mnist import load_digits

FRAMES = (31, 42, 70)


def _clips(split: str, n: int, block: int, digits) -> tuple[list, int]:
    """The first n placeable clips' frames, and how many of the first n could not be placed at all."""
    try:
        return [c.frames for c in generate_clips(split, 0, n, block_size=block, digits=digits)], 0
    except ConfigError:  # some clips have no place in any draw: keep those that have one (of at most 200: slow)
        kept = []
        for i in range(min(n, 200)):
            try:
                kept.append(generate_clips(split, i, 1, block_size=block, digits=digits)[0].frames)
            except ConfigError:
                pass
        return kept, min(n, 200) - len(kept)


def redrawn_share(n: int, block: int, digits) -> float:
    T = DATASETS.get("m3so").spec.num_frames
    d = draw(0, SPLIT_CODES["test"], range(n), T)
    pick = np.minimum((d.digit_u * len(digits)).astype(np.int64), len(digits) - 1)
    return float(1.0 - simulate(d, digits.ink[pick], T, "paper", block).placed.mean())


def profile(block: int, n_train: int, n_test: int) -> dict:
    info = DATASETS.get("m3so")
    test_digits, train_digits = load_digits("test"), load_digits("train")
    train, _ = _clips("train", n_train, block, train_digits)
    test, lost = _clips("test", n_test, block, test_digits)
    video = torch.from_numpy(np.stack(test)).permute(0, 1, 4, 2, 3).float() / 255  # (N, T, C, H, W)
    mean = torch.from_numpy(np.mean(np.stack(train), 0, dtype=np.float64)).permute(0, 3, 1, 2).float() / 255
    P = info.n_past
    future = video[:, P:info.test_frames]
    preds = {"black": torch.zeros_like(future), "mean": mean[P:info.test_frames].expand_as(future),
             "copy_last": video[:, P - 1:P].expand_as(future)}
    out = {"block": block, "clips": len(test), "lost": lost, "redrawn": redrawn_share(n_test, block, test_digits)}
    for name, p in preds.items():
        s, q = ssim_paper(p, future).mean(0), psnr(p, future)
        out[name] = {f: (s[f - P - 1].item(), q[:, f - P - 1].clamp(max=100).mean().item(),
                         int(torch.isinf(q[:, f - P - 1]).sum())) for f in FRAMES}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block-size", type=int, nargs="+", default=[10, 16, 24, 32])
    ap.add_argument("--clips", type=int, default=100, help="first N test clips")
    ap.add_argument("--train", type=int, default=2000, help="training clips for the mean frame")
    a = ap.parse_args()
    print(f"M3SO, seed 0, first {a.clips} test clips, mean frame from {a.train} training clips; "
          f"ssim_paper / PSNR (dB) at frames {' / '.join(map(str, FRAMES))}")
    print("| block | clips (redrawn) | black SSIM | black PSNR | mean SSIM | mean PSNR | copy_last SSIM | "
          "copy_last PSNR |")
    print("|---|---|---|---|---|---|---|---|")
    for b in a.block_size:
        r = profile(b, a.train, a.clips)
        cells = []
        for name in ("black", "mean", "copy_last"):
            cells.append(" / ".join(f"{r[name][f][0]:.3f}" for f in FRAMES))
            cells.append(" / ".join(f"{r[name][f][1]:.1f}" + ("*" if r[name][f][2] else "") for f in FRAMES))
        lost = f"; {r['lost']} never placeable, left out" if r["lost"] else ""
        print(f"| {b} px | {r['clips']} ({100 * r['redrawn']:.0f} %{lost}) | " + " | ".join(cells) + " |")
    print("(* some frames matched exactly, +inf dB counted as 100 dB)")


if __name__ == "__main__":
    main()
