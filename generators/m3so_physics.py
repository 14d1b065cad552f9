"""M3SO motion: per-clip random draws (``counter_rng``), then every clip of a batch simulated at once, frame by frame.

Coordinates are the digit's top-left corner ``(x, y)`` in pixels (x right, y down), integers in ``[0, LIMIT]``
(``LIMIT = 48 - 28 = 20``). Velocities are integer vectors ``round(speed * (cos a, sin a))`` with speed in 2..6.

- **Walls**: the 28 x 28 digit box stays on the canvas. A step that would reach or cross a wall while moving
  towards it stops at the wall; that frame is a ``wall`` bounce and the velocity turns away from the wall.
- **Block** (from frame ``BLOCK_FIRST``): a square of side ``block_size`` (default ``BLOCK_SIZE``) placed uniformly
  among the positions that do not overlap the digit's ink box (tight box of its non-zero pixels) in that frame.
  When there is none (a block wider than the free strips beside the digit), the clip's motion is drawn again
  from the next block of its own counter stream (``draw(..., attempt=a)``; the digit stays) until there is one.
  From the next frame on, a step whose ink box would overlap the block, or that reaches a block face while moving
  towards it, stops at the face it reached first; that frame is a ``block`` bounce and the velocity turns away from
  that face. The ink box never overlaps the block in any frame.
- **New velocity at a bounce**: ``paper`` law: a uniformly random direction, at the clip's speed, within the arc
  that leaves every face hit in that frame (every such component is at least 1 px/frame); ``merl`` law: the
  velocity components normal to the faces hit are negated (reflection, as the original).

Any ink width up to 28 leaves a free strip of at least (48 - 28) / 2 = 10 px beside the digit, so a block of at
most ``ALWAYS_FITS`` = 10 px always has a free location (no clip is redrawn); a larger one fits
only next to a digit near a wall. Why the default is ``BLOCK_SIZE``: docs/datasets.md (M3SO).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s2sbench.errors import ConfigError

from .counter_rng import uniforms

CANVAS = 48
DIGIT = 28
LIMIT = CANVAS - DIGIT
BLOCK_SIZE = 24  # default side of the block (docs/datasets.md: the trivial predictors against the original)
ALWAYS_FITS = 10  # always placeable next to a 28 px digit
MAX_ATTEMPTS = 200  # draws of a clip's motion before make-m3so gives up on a block size
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


def draw(seed: int, split_code: int, indices: range | list[int], num_frames: int, attempt: int = 0,
         length: int | None = None) -> Draws:
    """The draws of clips ``indices``: row ``r`` is ``counter_rng.uniforms(seed, split_code, [indices[r]], ...)``.

    Attempt ``a`` of a clip of ``num_frames`` frames reads the block of its stream that starts at
    ``a * (N_SCALARS + num_frames)`` (attempt 0: the stream's start); ``length`` (default ``num_frames``) frames of
    it are drawn (a prefix: the same numbers as the whole clip's)."""
    width = N_SCALARS + (num_frames if length is None else length)
    u = uniforms(seed, split_code, indices, width, offset=attempt * (N_SCALARS + num_frames))
    xy = np.minimum((u[:, 3] * (LIMIT + 1) ** 2).astype(np.int64), (LIMIT + 1) ** 2 - 1)
    speed = SPEEDS[0] + np.minimum((u[:, 1] * (SPEEDS[1] - SPEEDS[0] + 1)).astype(np.int64), SPEEDS[1] - SPEEDS[0])
    return Draws(digit_u=u[:, 0], speed=speed, angle=(2.0 * u[:, 2] - 1.0) * np.pi,
                 start=np.stack([xy % (LIMIT + 1), xy // (LIMIT + 1)], 1), block_u=u[:, 4],
                 bounce_u=u[:, N_SCALARS:])


def take(d: Draws, rows: np.ndarray) -> Draws:
    """The draws of some rows (an index array or a boolean mask)."""
    return Draws(*(getattr(d, f)[rows] for f in ("digit_u", "speed", "angle", "start", "block_u", "bounce_u")))


@dataclass(frozen=True)
class Trajectory:
    positions: np.ndarray  # (N, T, 2) int64, top-left corner [x, y] per frame
    wall: np.ndarray  # (N, T) bool, frame t is a wall bounce
    block: np.ndarray  # (N, T) bool, frame t is a block bounce
    block_box: np.ndarray | None  # (N, 4) int64 [x0, y0, x1, y1] exclusive ends, or None without block
    placed: np.ndarray | None = None  # (N,) bool: a free location existed (else block_box is meaningless)


def velocity(speed: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Integer velocity (N, 2) closest to ``speed`` px/frame in direction ``angle``."""
    return np.rint(speed[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)).astype(np.int64)


def _arcs() -> tuple[np.ndarray, np.ndarray]:
    """Centre and half-width of the arc of new directions at a bounce, indexed by ``c = 3 * sx + sy``.

    ``s = sign(v) * bounced`` per axis marks the faces hit (the new velocity needs the opposite signs, ``-s``):
    the centre is ``atan2(-sy, -sx)``, the half-width pi/2 for one face (a half-plane), pi/4 for two (a quadrant).
    Negative ``c`` is stored from the end, as numpy indexing reads it.
    """
    centre, half = np.zeros(9), np.zeros(9)
    for sx in (-1, 0, 1):
        for sy in (-1, 0, 1):
            centre[3 * sx + sy] = np.arctan2(-sy, -sx)
            half[3 * sx + sy] = np.pi / 4 if sx and sy else np.pi / 2
    return centre, half


ARC_CENTRE, ARC_HALF = _arcs()


def place_block(pos: np.ndarray, ink: np.ndarray, u: np.ndarray, size: int = BLOCK_SIZE
                ) -> tuple[np.ndarray, np.ndarray]:
    """Block boxes (N, 4), each uniform among the locations not overlapping the digit's ink box at ``pos``, and
    (N,) bool: whether there was any such location.

    Candidate top-left corners form a C x C grid (C = 48 - BLOCK_SIZE + 1) taken in row-major (y, x) order; the
    blocked ones form the rectangle ``[xa, xb) x [ya, yb)``, so the ``floor(u * free)``-th free corner is found
    by counting rows: those above the rectangle, those beside it (C - (xb - xa) free each), those below.
    """
    C = CANVAS - size + 1
    lo, hi = pos + ink[:, :2], pos + ink[:, 2:]  # (N, 2) ink box on the canvas
    a = np.clip(lo - size + 1, 0, C)  # (N, 2) first overlapping corner per axis
    b = np.clip(hi, a, C)  # (N, 2) end of the overlapping corners per axis
    (xa, ya), (xb, yb) = a.T, b.T
    width = C - (xb - xa)  # free corners in a row beside the rectangle (> 0 whenever size <= ALWAYS_FITS)
    free = C * C - (xb - xa) * (yb - ya)
    k = np.clip((u * free).astype(np.int64), 0, np.maximum(free - 1, 0))
    above, beside = ya * C, (yb - ya) * width
    kb, kc = k - above, k - above - beside
    x_beside = kb % np.maximum(width, 1)
    y = np.where(k < above, k // C, np.where(kc < 0, ya + kb // np.maximum(width, 1), yb + kc // C))
    x = np.where(k < above, k % C, np.where(kc < 0, np.where(x_beside < xa, x_beside, x_beside + xb - xa), kc % C))
    return np.stack([x, y, x + size, y + size], 1), free > 0


def simulate(d: Draws, ink: np.ndarray, num_frames: int, law: str, block_size: int | None) -> Trajectory:
    """Simulate a batch of clips; ``ink`` (N, 4) is each digit's ink box inside its 28 x 28 image; no block when
    ``block_size`` is None. Clips without a free block location are returned as they are (``placed`` False).

    One step of every clip at a time. The state is kept axis-major, (2, N) per frame, so that every operation
    works on contiguous rows; new velocities at bounces are computed for the bouncing clips only.
    """
    N, T = len(d.speed), num_frames
    pos = np.empty((T, 2, N), np.int64)
    wall, block = np.zeros((T, 2, N), bool), np.zeros((T, 2, N), bool)  # per frame, axis and clip
    p, v = d.start.T.copy(), velocity(d.speed, d.angle).T.copy()  # (2, N)
    speed, margin = d.speed.astype(np.float64), np.arcsin(0.6 / d.speed)
    spread = (2.0 * d.bounce_u - 1.0).T.copy()  # (T, N) where the new direction lies within its arc
    pos[0] = p
    box = lo = hi = placed = None
    for t in range(1, T):
        q = np.add(p, v, out=pos[t])
        w = wall[t]
        np.logical_or(q <= 0, q >= LIMIT, out=w)
        w &= v != 0  # a wall reached or crossed (only possible while moving towards it)
        np.maximum(q, 0, out=q)
        np.minimum(q, LIMIT, out=q)
        bounced = w
        if box is not None:
            m = q - p  # (2, N) this step's displacement
            inside = (q > lo) & (q < hi)  # (2, N) inside the open contact interval, per axis
            face = np.where(m > 0, lo, hi)  # the face approached along each axis
            outside_p = (p <= lo) | (p >= hi)
            with np.errstate(divide="ignore", invalid="ignore"):  # m == 0 only where no entry can happen
                entry = np.where(outside_p, (face - p) / m, -np.inf)  # fraction of the step at which it is reached
            b = block[t]
            np.logical_and(inside[0] & inside[1] & outside_p, entry >= np.maximum(entry[0], entry[1]), out=b)
            np.copyto(q, face, where=b)  # overlapping: stopped at the face it entered through (both at a corner)
            b |= (q == face) & (m != 0) & inside[::-1]  # not overlapping, but ran onto a face of the block
            w &= ~b  # the block stops the digit before the wall along that axis
            bounced = w | b
        if law == "merl":
            v -= 2 * v * bounced
        else:
            k = (bounced[0] | bounced[1]).nonzero()[0]
            if len(k):  # a bouncing component always moves towards its face: sign(v) != 0
                faces = np.sign(v) * bounced
                c = 3 * faces[0][k] + faces[1][k]
                angle = ARC_CENTRE[c] + spread[t][k] * (ARC_HALF[c] - margin[k])
                v[0][k] = np.rint(speed[k] * np.cos(angle))
                v[1][k] = np.rint(speed[k] * np.sin(angle))
        p = q
        if block_size is not None and t == BLOCK_FIRST:
            box, placed = place_block(p.T, ink, d.block_u, block_size)
            lo, hi = (box[:, :2] - ink[:, 2:]).T.copy(), (box[:, 2:] - ink[:, :2]).T.copy()  # contact interval (2, N)
    return Trajectory(pos.transpose(2, 0, 1).copy(), (wall[:, 0] | wall[:, 1]).T.copy(),
                      (block[:, 0] | block[:, 1]).T.copy(), box, placed)


def simulate_clips(seed: int, split_code: int, indices: range, d: Draws, ink: np.ndarray, num_frames: int,
                   law: str, block_size: int | None) -> Trajectory:
    """``simulate`` of clips ``indices`` (first draws ``d``), each clip without a free block location drawn again
    (attempts 1, 2, ...; the digit and its ink stay) until it has one. Retries are probed up to the block's frame
    first, so only the clips that place it are simulated to the end. Raises ``ValueError`` after ``MAX_ATTEMPTS``."""
    traj = simulate(d, ink, num_frames, law, block_size)
    if block_size is None or num_frames <= BLOCK_FIRST:
        return traj
    todo = np.flatnonzero(~traj.placed)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if not len(todo):
            return traj
        dr = draw(seed, split_code, [indices[i] for i in todo], num_frames, attempt)
        probe = simulate(dr, ink[todo], BLOCK_FIRST + 1, law, block_size).placed
        rows = todo[probe]
        if len(rows):
            t = simulate(take(dr, probe), ink[rows], num_frames, law, block_size)
            for f in ("positions", "wall", "block", "block_box", "placed"):
                getattr(traj, f)[rows] = getattr(t, f)
        todo = todo[~probe]
    if len(todo):
        raise ConfigError(f"a {block_size} px block found no place beside the digit of clip {indices[todo[0]]} in "
                          f"{MAX_ATTEMPTS} draws of its motion (use a smaller block size)")
    return traj
