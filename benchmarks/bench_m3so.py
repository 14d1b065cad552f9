"""Speed of the M3SO generator against a straightforward per-frame reference loop, measured in the same run.

    python benchmarks/bench_m3so.py                # clips/s of both, in memory, one process; prints the ratio
    python benchmarks/bench_m3so.py --full         # also times `s2sbench make-m3so --n 8000` end to end
                                                   # (shards written and verified) under a temp dir, then deletes it

The reference (``s2sbench.generators.m3so_reference``) builds each clip frame by frame like the original code (scalar
physics, a PIL canvas per frame, ``np.sin`` per frame); it runs on a sample of clips and its rate is extrapolated.
Rounds of the two alternate and the median round of each is reported, per CPU second of this process
(``time.process_time``: other load on a shared machine distorts the ratio less) and per wall-clock second.
Both run in one process (``make-m3so`` additionally spreads shards over ``--workers`` processes).
The sample is also checked to be identical to the vectorised clips. Goals (issue 2): ratio >= 50, full run < 90 s.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2sbench.generators.m3so import generate_clips, shard_buffers, variant_info  # noqa: E402
from s2sbench.generators.m3so_reference import reference_clip  # noqa: E402
from s2sbench.generators.mnist import load_digits  # noqa: E402


def _rate(fn, count: int, clock=time.process_time) -> float:
    t = clock()
    fn()
    return count / (clock() - t)


def compare(variant: str, batch: int, sample: int, rounds: int, clock) -> tuple[float, float, float]:
    """Median clips/s of the generator (fresh arrays; reused buffers as make-m3so) and of the reference."""
    digits = load_digits("train")
    out = shard_buffers(batch, variant_info(variant).spec.num_frames)
    fresh, reused, ref = [], [], []
    for r in range(rounds):
        start = r * batch
        fresh.append(_rate(lambda: generate_clips("train", start, batch, variant=variant, digits=digits), batch,
                           clock))
        reused.append(_rate(lambda: generate_clips("train", start, batch, variant=variant, digits=digits, out=out),
                            batch, clock))
        ref.append(_rate(lambda: [reference_clip("train", start + i, digits, variant=variant)
                                  for i in range(sample)], sample, clock))
    shard_buffers.cache_clear()
    fast = generate_clips("train", 0, sample, variant=variant, digits=digits)
    for i, c in enumerate(fast):
        slow = reference_clip("train", i, digits, variant=variant)
        if not (np.array_equal(c.frames, slow.frames) and c.meta == slow.meta
                and np.abs(c.audio - slow.audio).max() < 1e-6):
            raise SystemExit(f"{variant}: clip {i} differs between the generator and the reference")
    return statistics.median(fresh), statistics.median(reused), statistics.median(ref)


def full_run(n: int, workers: int | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-m3so-", dir="/tmp"))
    cmd = [sys.executable, "-m", "s2sbench", "make-m3so", "--n", str(n), "--out", str(tmp / "m3so"), "--quiet"]
    if workers:
        cmd += ["--workers", str(workers)]
    try:
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parents[1])
        dt = time.perf_counter() - t
        size = sum(p.stat().st_size for p in (tmp / "m3so").iterdir())
        clips = n + 2 * (n // 8)
        print(f"full run: `{' '.join(cmd[1:])}`: {dt:.1f} s wall, {clips / dt:.0f} clips/s, "
              f"{size / 1e6:.0f} MB written and verified (goal < 90 s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=500, help="clips per generator call (one shard)")
    ap.add_argument("--sample", type=int, default=20, help="reference clips per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="also time make-m3so --n N end to end")
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=None, help="--workers of the full run [default: all CPUs]")
    a = ap.parse_args()
    for variant in ("m3so", "nb"):
        for clock, what in ((time.process_time, "CPU"), (time.perf_counter, "wall-clock")):
            g, b, r = compare(variant, a.batch, a.sample, a.rounds, clock)
            print(f"{variant:5s} per {what:10s} s: generator {g:6.0f} clips/s (fresh arrays), {b:6.0f} (reused "
                  f"buffers, as make-m3so) | per-frame reference {r:5.1f} clips/s | ratio {g / r:4.1f}x, {b / r:4.1f}x")
    print(f"(one process each, median of {a.rounds} alternating rounds of {a.batch} vs {a.sample} clips)")
    if a.full:
        full_run(a.n, a.workers)


if __name__ == "__main__":
    main()
