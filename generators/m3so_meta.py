"""M3SO ``meta`` for a batch of clips, built from the batch arrays with the small lists shared.

A clip's meta holds per-frame ``[x, y]`` positions, ``[f1, f2]`` tones and ``[frame, kind]`` bounces: thousands of
tiny lists per shard. They are taken from shared tables (one list per grid cell, tone pair and (frame, kind)), so
generated meta must be treated as read-only, and the cyclic garbage collector is paused while they are made.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from . import m3so_audio as audio
from .m3so_physics import BLOCK_FIRST, LIMIT

_POINTS = [[x, y] for y in range(LIMIT + 1) for x in range(LIMIT + 1)]  # shared [x, y] lists, by grid cell
_PAIRS = audio.TONES.tolist()  # shared [f1, f2] lists, by symbol


@lru_cache(maxsize=None)
def _bounce_lists(num_frames: int) -> list[list]:
    """Shared ``[frame, kind]`` lists, item ``kind_code * num_frames + frame`` (wall 0, block 1)."""
    return [[f, kind] for kind in ("wall", "block") for f in range(num_frames)]


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: meta is thousands of small acyclic lists that would trigger it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def batch_meta(labels: np.ndarray, mnist_index: np.ndarray, cell: np.ndarray, sym: np.ndarray, wall: np.ndarray,
               block: np.ndarray, block_box: np.ndarray | None, law: str) -> list[dict]:
    """One ``meta`` dict per clip: ``cell`` (N, T) indexes ``_POINTS`` (``y * (LIMIT + 1) + x``), ``sym`` (N, T) the
    tone symbols, ``wall`` / ``block`` (N, T) the bounce frames, ``block_box`` (N, 4) or None (no block)."""
    count, T = cell.shape
    cell_l, sym_l, amp_l = cell.tolist(), sym.tolist(), audio.cell_amplitudes(law)[cell].tolist()
    label_l, mnist_l = labels.tolist(), mnist_index.tolist()
    clip_i, frame_i, event_i = np.nonzero(np.stack([wall, block], -1))  # ordered by clip, frame, kind
    cuts = np.searchsorted(clip_i, np.arange(count + 1)).tolist()
    bounces = list(map(_bounce_lists(T).__getitem__, (event_i * T + frame_i).tolist()))
    boxes = block_box.tolist() if block_box is not None else None
    point, pair = _POINTS.__getitem__, _PAIRS.__getitem__
    with _gc_paused():
        return [{"label": label_l[k], "mnist_index": mnist_l[k], "positions": list(map(point, cell_l[k])),
                 "bounces": bounces[cuts[k]:cuts[k + 1]], "tones": list(map(pair, sym_l[k])), "amplitude": amp_l[k],
                 "block": None if boxes is None else {"box": boxes[k], "first_frame": BLOCK_FIRST}, "law": law}
                for k in range(count)]
