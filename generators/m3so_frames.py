"""M3SO frames: each digit pasted at its positions on a black 48 x 48 canvas, plus the block, for a batch at once."""
from __future__ import annotations

import numpy as np

from .m3so_physics import BLOCK_FIRST, CANVAS

CHUNK = 8  # clips rendered while their frames are in the CPU cache (~1.3 MB for 70 frames)


def block_canvases(box: np.ndarray) -> np.ndarray:
    """(N, 48, 48, 1) uint8 canvases, 255 inside each box ``[x0, y0, x1, y1]`` (exclusive ends), 0 elsewhere."""
    ax = np.arange(CANVAS)
    in_y = (ax >= box[:, 1:2]) & (ax < box[:, 3:4])  # (N, 48)
    in_x = (ax >= box[:, 0:1]) & (ax < box[:, 2:3])  # (N, 48)
    return ((in_y[:, :, None] & in_x[:, None, :]) * np.uint8(255))[..., None]


def render(images: np.ndarray, positions: np.ndarray, box: np.ndarray | None,
           out: np.ndarray | None = None) -> np.ndarray:
    """Frames (N, T, 48, 48, 1) uint8 of digit ``images`` (N, 28, 28) at ``positions`` (N, T, 2), block from frame 41.

    In a flattened frame the digit at ``(x, y)`` is its rows at (0, 0) (28 bytes of digit, 20 of zeros, ...)
    shifted by ``y * 48 + x`` (no row wraps since ``x + 28 <= 48``), so one indexing operation copies a contiguous
    1324-byte span into every frame. The block is OR-ed in afterwards (the digit's ink never overlaps it, so only
    zeros of the span fall on it). Frames are zeroed, pasted and blocked ``CHUNK`` clips at a time, so that each
    byte travels to memory once. Written into ``out`` when given.
    """
    N, T = positions.shape[:2]
    D = images.shape[1]
    frames = np.empty((N, T, CANVAS, CANVAS, 1), np.uint8) if out is None else out
    span = (D - 1) * CANVAS + D  # from the first digit pixel to the last in a flattened frame
    rows = np.zeros((N, D, CANVAS), np.uint8)
    rows[:, :, :D] = images
    spans = rows.reshape(N, D * CANVAS)[:, None, :span]  # (N, 1, 1324)
    windows = np.lib.stride_tricks.sliding_window_view(frames.reshape(-1), span, writeable=True)  # (N*T*2304-.., span)
    start = np.arange(N * T).reshape(N, T) * CANVAS * CANVAS + positions[..., 1] * CANVAS + positions[..., 0]
    blocks = None if box is None else block_canvases(box)[:, None]  # (N, 1, 48, 48, 1)
    for a in range(0, N, CHUNK):
        b = min(a + CHUNK, N)
        frames[a:b] = 0
        windows[start[a:b]] = spans[a:b]  # (c, T, span) <- (c, 1, span): the spans of distinct frames never overlap
        if blocks is not None:
            late = frames[a:b, BLOCK_FIRST:]
            np.bitwise_or(late, blocks[a:b], out=late)
    return frames
