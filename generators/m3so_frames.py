"""M3SO frames: each digit pasted at its positions on a black 48 x 48 canvas, plus the block, for a batch at once."""
from __future__ import annotations

import numpy as np

from .m3so_physics import BLOCK_FIRST, CANVAS


def render(images: np.ndarray, positions: np.ndarray, box: np.ndarray | None,
           out: np.ndarray | None = None) -> np.ndarray:
    """Frames (N, T, 48, 48, 1) uint8 of digit ``images`` (N, 28, 28) at ``positions`` (N, T, 2), block from frame 41.

    In a flattened frame the digit at ``(x, y)`` is its rows at (0, 0) (28 bytes of digit, 20 of zeros, ...)
    shifted by ``y * 48 + x`` (no row wraps since ``x + 28 <= 48``), so one indexing operation copies a contiguous
    1324-byte span into every frame of the batch. Written into ``out`` (zeroed first) when given.
    """
    N, T = positions.shape[:2]
    D = images.shape[1]
    frames = np.zeros((N, T, CANVAS, CANVAS, 1), np.uint8) if out is None else out
    if out is not None:
        frames.fill(0)
    span = (D - 1) * CANVAS + D  # from the first digit pixel to the last in a flattened frame
    rows = np.zeros((N, D, CANVAS), np.uint8)
    rows[:, :, :D] = images
    spans = rows.reshape(N, D * CANVAS)[:, :span]  # (N, 1324)
    windows = np.lib.stride_tricks.sliding_window_view(frames.reshape(-1), span, writeable=True)  # (N*T*2304-.., span)
    start = np.arange(N * T).reshape(N, T) * CANVAS * CANVAS + positions[..., 1] * CANVAS + positions[..., 0]
    windows[start] = spans[:, None, :]  # (N, T, span) <- (N, 1, span): the spans of distinct frames never overlap
    if box is not None:
        for f, (x0, y0, x1, y1) in zip(frames, box.tolist()):
            f[BLOCK_FIRST:, y0:y1, x0:x1] = 255
    return frames
