"""A counter-based random generator: uniforms as a pure function of ``(seed, split, index, k)``, vectorised.

Every random number of a generated item is a hash of its coordinates, so item ``index`` of a split is the same
whichever batch, worker or shard makes it, and a whole batch is drawn with a handful of numpy uint64 operations
(instead of one ``np.random.default_rng`` per item, ~16 us each).

The hash is SplitMix64 (Steele, Lea & Flood 2014; finaliser ``mix64`` = Stafford's "Mix13" constants), nested
three times, with ``G = 0x9E3779B97F4A7C15`` and all arithmetic modulo 2**64::

    key   = mix64(seed)                        # scrambles the seed before it is combined with anything
    key_s = mix64(key   + (split + 1) * G)     # output no. `split` of SplitMix64 seeded with `key`
    key_i = mix64(key_s + (index + 1) * G)     # output no. `index` of SplitMix64 seeded with `key_s`
    u[k]  = (mix64(key_i + (k + 1) * G) >> 11) * 2**-53   # outputs of SplitMix64 seeded with `key_i`, in [0, 1)

so ``u[index, :]`` is the plain SplitMix64 stream of a per-item seed, and ``u`` has 53-bit resolution like
``Generator.random()``. ``mix64`` is a bijection of uint64, so for any two of (seed, split, index) fixed, ``key_i``
is injective in the third: different seeds, splits or indices never share a key, and two item streams can only
overlap if their keys differ by a small multiple of ``G`` (chance ~2 * length / 2**64). Seeds must be in
[0, 2**64).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MAX_SEED = 2**64 - 1
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser applied elementwise to a uint64 array (in place; returns it)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _check(seed: int, split: int) -> None:
    for name, v in (("seed", seed), ("split", split)):
        if not 0 <= int(v) <= MAX_SEED:
            raise ValueError(f"{name} must be in [0, 2**64), got {v}")


def item_keys(seed: int, split: int, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """``key_i`` (len(indices),) uint64 of each item (see the module docstring)."""
    _check(seed, split)
    idx = np.asarray(indices, dtype=np.uint64).reshape(-1)
    with np.errstate(over="ignore"):
        key = mix64(np.array([seed], np.uint64))
        key = mix64(key + np.uint64((split + 1) & MAX_SEED) * GOLDEN)
        return mix64(key + (idx + np.uint64(1)) * GOLDEN)


def uniforms(seed: int, split: int, indices: Sequence[int] | np.ndarray, count: int, offset: int = 0) -> np.ndarray:
    """Uniforms (len(indices), count) float64 in [0, 1): row ``r`` is item ``indices[r]``'s stream,
    ``u[offset : offset + count]``."""
    keys = item_keys(seed, split, indices)
    with np.errstate(over="ignore"):
        z = keys[:, None] + np.arange(offset + 1, offset + count + 1, dtype=np.uint64) * GOLDEN  # (N, count)
        mix64(z)
    z >>= _S11
    return z.astype(np.float64) * 2.0**-53
