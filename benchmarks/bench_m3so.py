"""Speed of the M3SO generator against a straightforward per-frame reference loop, measured in the same run.

    python benchmarks/bench_m3so.py                # clips/s of both, in memory, one process; prints the ratio
    python benchmarks/bench_m3so.py --full         # also times `s2sbench make-m3so --n 8000` end to end, default
                                                   # block and 10 px block alternating
                                                   # (shards written and verified) under a temp dir, then deletes it

The reference (``s2sbench.generators.m3so_reference``) builds each clip frame by frame like the original code (scalar
physics, a PIL canvas per frame, ``np.sin`` per frame); it runs on a sample of clips and its rate is extrapolated.
Rounds of the two alternate and the median round of each is reported, per CPU second of this process
(``time.process_time``: other load on a shared machine distorts the ratio less) and per wall-clock second.
Both run in one process (``make-m3so`` additionally spreads shards over ``--workers`` processes).
The sample is also checked to be identical to the vectorised clips. Goals (issue 2): ratio >= 50, full run < 90 s;
(issue 18) the full run with the default 24 px block (clips redrawn when it has no place) <= 30 s on 2 cores,
timed next to the 10 px block in the same run.
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


def _make(n: int, workers: int | None, block: int, out: Path) -> float:
    cmd = [sys.executable, "-m", "s2sbench", "make-m3so", "--n", str(n), "--out", str(out), "--quiet",
           "--block-size", str(block)] + (["--workers", str(workers)] if workers else [])
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def full_run(n: int, workers: int | None, rounds: int = 2) -> None:
    """`make-m3so --n N` end to end with the default block and with the 10 px one (the earlier geometry, which
    never redraws a clip), alternating, so that the ratio is measured under the same load."""
    from s2sbench.generators.m3so_physics import ALWAYS_FITS, BLOCK_SIZE

    tmp = Path(tempfile.mkdtemp(prefix="bench-m3so-", dir="/tmp"))
    times: dict[int, list[float]] = {BLOCK_SIZE: [], ALWAYS_FITS: []}
    try:
        for _ in range(rounds):
            for block in times:
                times[block].append(_make(n, workers, block, tmp / f"b{block}"))
        size = sum(p.stat().st_size for p in (tmp / f"b{BLOCK_SIZE}").iterdir())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    clips = n + 2 * (n // 8)
    new, old = (statistics.median(times[b]) for b in (BLOCK_SIZE, ALWAYS_FITS))
    print(f"full run: `make-m3so --n {n}`{f' --workers {workers}' if workers else ''}, median of {rounds}: "
          f"{BLOCK_SIZE} px block (default) {new:.1f} s wall ({clips / new:.0f} clips/s, {size / 1e6:.0f} MB "
          f"written and verified), {ALWAYS_FITS} px block {old:.1f} s: ratio {new / old:.2f} (goal <= 30 s)")


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
