"""M3SO motion: per-clip random draws (``counter_rng``), then every clip of a batch simulated at once, frame by frame.

Coordinates are the digit's top-left corner ``(x, y)`` in pixels (x right, y down), integers in ``[0, LIMIT]``
(``LIMIT = 48 - 28 = 20``). Velocities are integer vectors ``round(speed * (cos a, sin a))`` with speed in 2..6.

- **Walls**: the 28 x 28 digit box stays on the canvas. A step that would reach or cross a wall while moving
  towards it stops at the wall; that frame is a ``wall`` bounce and the velocity turns away from the wall.
- **Block** (from frame ``BLOCK_FIRST``): a ``BLOCK_SIZE`` square placed uniformly among the positions that do not
  overlap the digit's ink box (tight box of its non-zero pixels) in that frame. From the next frame on, a step
  whose ink box would overlap the block, or that reaches a block face while moving towards it, stops at the face
  it reached first; that frame is a ``block`` bounce and the velocity turns away from that face. The ink box never
  overlaps the block in any frame.
- **New velocity at a bounce**: ``paper`` law: a uniformly random direction, at the clip's speed, within the arc
  that leaves every face hit in that frame (every such component is at least 1 px/frame); ``merl`` law: the
  velocity components normal to the faces hit are negated (reflection, as the original).

Any ink width up to 28 leaves a free strip of at least (48 - 28) / 2 = 10 px beside the digit, so a 10 px block
always has a free location; this is why ``BLOCK_SIZE`` is 10.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .counter_rng import uniforms

CANVAS = 48
DIGIT = 28
LIMIT = CANVAS - DIGIT
BLOCK_SIZE = 10
BLOCK_FIRST = 41  # 0-based: frame 42 in the paper's 1-based count
SPEEDS = (2, 6)  # inclusive px/frame
N_SCALARS = 5  # per-clip uniforms before the per-frame ones: digit, speed, angle, start (x and y), block


@dataclass(frozen=True)
class Draws:
    """The random numbers of a batch of clips (one row per clip), each row a function of its clip's index only."""

    digit_u: np.ndarray  # (N,) picks the digit image
    speed: np.ndarray  # (N,) int, px/frame
    angle: np.ndarray  # (N,) initial direction, radians
    start: np.ndarray  # (N, 2) int, initial top-left corner
    block_u: np.ndarray  # (N,) picks the block location
    bounce_u: np.ndarray  # (N, T) picks the new direction at a bounce in frame t (paper law)


def draw(seed: int, split_code: int, indices: range | list[int], num_frames: int) -> Draws:
    """The draws of clips ``indices``: row ``r`` is ``counter_rng.uniforms(seed, split_code, [indices[r]], ...)``."""
    u = uniforms(seed, split_code, indices, N_SCALARS + num_frames)
    xy = np.minimum((u[:, 3] * (LIMIT + 1) ** 2).astype(np.int64), (LIMIT + 1) ** 2 - 1)
    speed = SPEEDS[0] + np.minimum((u[:, 1] * (SPEEDS[1] - SPEEDS[0] + 1)).astype(np.int64), SPEEDS[1] - SPEEDS[0])
    return Draws(digit_u=u[:, 0], speed=speed, angle=(2.0 * u[:, 2] - 1.0) * np.pi,
                 start=np.stack([xy % (LIMIT + 1), xy // (LIMIT + 1)], 1), block_u=u[:, 4],
                 bounce_u=u[:, N_SCALARS:])


@dataclass(frozen=True)
class Trajectory:
    positions: np.ndarray  # (N, T, 2) int64, top-left corner [x, y] per frame
    wall: np.ndarray  # (N, T) bool, frame t is a wall bounce
    block: np.ndarray  # (N, T) bool, frame t is a block bounce
    block_box: np.ndarray | None  # (N, 4) int64 [x0, y0, x1, y1] exclusive ends, or None without block


def velocity(speed: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Integer velocity (N, 2) closest to ``speed`` px/frame in direction ``angle``."""
    return np.rint(speed[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)).astype(np.int64)


def away_velocity(speed: np.ndarray, need: np.ndarray, u: np.ndarray, margin: np.ndarray | None = None) -> np.ndarray:
    """Random integer velocity (N, 2) whose components have the signs ``need`` (N, 2) in {-1, 0, +1} asks for.

    The direction is uniform in the arc allowed (half-plane for one face, quadrant for two), shrunk by
    ``margin = asin(0.6 / speed)`` at each edge so that every required component is at least 0.6 before rounding.
    """
    margin = np.arcsin(0.6 / speed) if margin is None else margin
    half = np.where((need[:, 0] != 0) & (need[:, 1] != 0), np.pi / 4, np.pi / 2) - margin
    return velocity(speed, np.arctan2(need[:, 1], need[:, 0]) + (2.0 * u - 1.0) * half)


def place_block(pos: np.ndarray, ink: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Block boxes (N, 4), each uniform among the locations not overlapping the digit's ink box at ``pos``.

    Candidate top-left corners form a C x C grid (C = 48 - BLOCK_SIZE + 1) taken in row-major (y, x) order; the
    blocked ones form the rectangle ``[xa, xb) x [ya, yb)``, so the ``floor(u * free)``-th free corner is found
    by counting rows: those above the rectangle, those beside it (C - (xb - xa) free each), those below.
    """
    C = CANVAS - BLOCK_SIZE + 1
    lo, hi = pos + ink[:, :2], pos + ink[:, 2:]  # (N, 2) ink box on the canvas
    a = np.clip(lo - BLOCK_SIZE + 1, 0, C)  # (N, 2) first overlapping corner per axis
    b = np.clip(hi, a, C)  # (N, 2) end of the overlapping corners per axis
    (xa, ya), (xb, yb) = a.T, b.T
    width = C - (xb - xa)  # free corners in a row beside the rectangle (> 0 whenever BLOCK_SIZE <= 10)
    free = C * C - (xb - xa) * (yb - ya)
    k = np.minimum((u * free).astype(np.int64), free - 1)
    above, beside = ya * C, (yb - ya) * width
    kb, kc = k - above, k - above - beside
    x_beside = kb % np.maximum(width, 1)
    y = np.where(k < above, k // C, np.where(kc < 0, ya + kb // np.maximum(width, 1), yb + kc // C))
    x = np.where(k < above, k % C, np.where(kc < 0, np.where(x_beside < xa, x_beside, x_beside + xb - xa), kc % C))
    return np.stack([x, y, x + BLOCK_SIZE, y + BLOCK_SIZE], 1)


def simulate(d: Draws, ink: np.ndarray, num_frames: int, law: str, with_block: bool) -> Trajectory:
    """Simulate a batch of clips; ``ink`` (N, 4) is each digit's ink box inside its 28 x 28 image."""
    N, T = len(d.speed), num_frames
    pos = np.empty((N, T, 2), np.int64)
    wall, block = np.zeros((N, T, 2), bool), np.zeros((N, T, 2), bool)  # per frame and axis
    p, v = d.start.copy(), velocity(d.speed, d.angle)
    margin = np.arcsin(0.6 / d.speed)
    pos[:, 0] = p
    box = lo = hi = None
    for t in range(1, T):
        q = p + v
        w = ((q <= 0) & (v < 0)) | ((q >= LIMIT) & (v > 0))  # (N, 2) wall reached while moving towards it
        np.maximum(q, 0, out=q)
        np.minimum(q, LIMIT, out=q)
        bounced = w
        if box is not None:
            m = q - p  # (N, 2) this step's displacement
            inside = (q > lo) & (q < hi)  # (N, 2) inside the open contact interval, per axis
            overlap = inside[:, :1] & inside[:, 1:]
            face = np.where(m > 0, lo, hi)  # the face approached along each axis
            outside_p = (p <= lo) | (p >= hi)
            entry = np.where(outside_p & (m != 0), (face - p) / np.where(m == 0, 1, m), -np.inf)
            first = np.maximum(entry[:, :1], entry[:, 1:])
            hit = overlap & outside_p & (entry >= first)  # the face reached first (both at a corner)
            touch = ~overlap & inside[:, ::-1] & (((q == lo) & (m > 0)) | ((q == hi) & (m < 0)))
            np.copyto(q, face, where=hit)
            b = hit | touch
            block[:, t] = b
            w &= ~b  # the block stops the digit before the wall along that axis
            bounced = w | b
        wall[:, t] = w
        turn = bounced[:, 0] | bounced[:, 1]
        k = np.flatnonzero(turn)
        if len(k):  # a bouncing component always moves towards its face: sign(v) != 0
            if law == "merl":
                v = np.where(bounced, -v, v)
            else:
                v[k] = away_velocity(d.speed[k], -np.sign(v[k]) * bounced[k], d.bounce_u[k, t], margin[k])
        p = q
        pos[:, t] = p
        if with_block and t == BLOCK_FIRST:
            box = place_block(p, ink, d.block_u)
            lo, hi = box[:, :2] - ink[:, 2:], box[:, 2:] - ink[:, :2]  # contact interval of the top-left corner
    return Trajectory(pos, wall[..., 0] | wall[..., 1], block[..., 0] | block[..., 1], box)
