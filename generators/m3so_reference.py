"""A straightforward per-frame M3SO generator (Python loop + PIL paste, like the original), used as a yardstick.

It follows the same rules as ``s2sbench.generators.m3so`` but the way the original code is written: one frame at a time,
scalar Python physics, a fresh PIL canvas per frame onto which the block and the digit are pasted, and the frame's
tone pair computed with ``np.sin``. It takes the same per-clip random numbers (``m3so_physics.draw``) and is
otherwise independent of the vectorised code, so it serves two purposes: the speed reference of
``benchmarks/bench_m3so.py`` and an oracle in the tests (both must produce the same clips).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops

from s2sbench.data.clip import Clip

from .m3so_audio import BLOCK, D0, D_MAX, SAMPLE_RATE, SAMPLES_PER_FRAME, TONES, WALL
from .m3so_physics import BLOCK_FIRST, BLOCK_SIZE, CANVAS, LIMIT, MAX_ATTEMPTS, draw
from .mnist import Digits


def _new_velocity(speed: int, need_x: int, need_y: int, u: float) -> tuple[int, int]:
    margin = math.asin(0.6 / speed)
    half = (math.pi / 4 if need_x and need_y else math.pi / 2) - margin
    a = math.atan2(need_y, need_x) + (2.0 * u - 1.0) * half
    return round(speed * math.cos(a)), round(speed * math.sin(a))


def _place_block(x: int, y: int, ink: tuple[int, int, int, int], u: float,
                 size: int) -> tuple[int, int, int, int] | None:
    free = []
    for by in range(CANVAS - size + 1):
        for bx in range(CANVAS - size + 1):
            overlap = bx < x + ink[2] and bx + size > x + ink[0] and by < y + ink[3] and by + size > y + ink[1]
            if not overlap:
                free.append((bx, by))
    if not free:
        return None
    bx, by = free[min(int(u * len(free)), len(free) - 1)]
    return bx, by, bx + size, by + size


class _NoPlace(Exception):
    """No free block location in this draw of the clip's motion."""


def reference_clip(split: str, index: int, digits: Digits, *, variant: str = "m3so", seed: int = 0,
                   law: str = "paper", block_size: int = BLOCK_SIZE) -> Clip:
    """Clip ``index`` of ``split``, built frame by frame; a draw of the motion that leaves no place for the block
    is thrown away and the next one of the clip's stream taken (the digit stays)."""
    from .m3so import SPLIT_CODES, variant_info

    info = variant_info(variant)
    name, T = info.name, info.spec.num_frames
    d0 = draw(seed, SPLIT_CODES[split], [index], T)
    k = min(int(d0.digit_u[0] * len(digits)), len(digits) - 1)
    for attempt in range(MAX_ATTEMPTS + 1):
        try:
            return _build(name, split, index, digits, k, draw(seed, SPLIT_CODES[split], [index], T, attempt),
                          T, info.block, law, block_size)
        except _NoPlace:
            continue
    raise ValueError(f"no place for a {block_size} px block in clip {index}")


def _build(name: str, split: str, index: int, digits: Digits, k: int, d, T: int, with_block: bool, law: str,
           block_size: int) -> Clip:
    label = int(digits.labels[k])
    digit = Image.fromarray(digits.images[k])
    ink = digit.getbbox() or (0, 0, 28, 28)
    speed, u_bounce = int(d.speed[0]), d.bounce_u[0].tolist()
    x, y = (int(c) for c in d.start[0])
    vx, vy = round(speed * math.cos(d.angle[0])), round(speed * math.sin(d.angle[0]))
    box = None
    n = np.arange(SAMPLES_PER_FRAME) / SAMPLE_RATE
    frames, waves, positions, bounces, tones, amps = [], [], [], [], [], []
    for t in range(T):
        wall_x = wall_y = block_x = block_y = False
        if t > 0:
            px, py = x, y
            qx, qy = x + vx, y + vy
            wall_x = (vx < 0 and qx <= 0) or (vx > 0 and qx >= LIMIT)
            wall_y = (vy < 0 and qy <= 0) or (vy > 0 and qy >= LIMIT)
            qx, qy = min(max(qx, 0), LIMIT), min(max(qy, 0), LIMIT)
            mx, my = qx - px, qy - py
            if box is not None:  # contact interval of the top-left corner along each axis
                lx, hx = box[0] - ink[2], box[2] - ink[0]
                ly, hy = box[1] - ink[3], box[3] - ink[1]
                in_x, in_y = lx < qx < hx, ly < qy < hy
                if in_x and in_y:
                    out_x, out_y = px <= lx or px >= hx, py <= ly or py >= hy
                    fx, fy = (lx if mx > 0 else hx), (ly if my > 0 else hy)
                    ex = (fx - px) / mx if out_x and mx else -math.inf
                    ey = (fy - py) / my if out_y and my else -math.inf
                    block_x, block_y = out_x and ex >= ey, out_y and ey >= ex
                    qx, qy = (fx if block_x else qx), (fy if block_y else qy)
                else:
                    block_x = in_y and ((qx == lx and mx > 0) or (qx == hx and mx < 0))
                    block_y = in_x and ((qy == ly and my > 0) or (qy == hy and my < 0))
                wall_x, wall_y = wall_x and not block_x, wall_y and not block_y
            hit_x, hit_y = wall_x or block_x, wall_y or block_y
            if law == "merl":
                vx, vy = (-vx if hit_x else vx), (-vy if hit_y else vy)
            elif hit_x or hit_y:
                need_x = 0 if not hit_x else 1 if (wall_x and vx < 0) or (block_x and mx < 0) else -1
                need_y = 0 if not hit_y else 1 if (wall_y and vy < 0) or (block_y and my < 0) else -1
                vx, vy = _new_velocity(speed, need_x, need_y, u_bounce[t])
            x, y = qx, qy
        if with_block and t == BLOCK_FIRST:
            box = _place_block(x, y, ink, d.block_u[0], block_size)
            if box is None:
                raise _NoPlace
        canvas = Image.new("L", (CANVAS, CANVAS), 0)
        if box is not None:
            canvas.paste(255, box)
        layer = Image.new("L", (CANVAS, CANVAS), 0)
        layer.paste(digit, (x, y))
        frames.append(np.asarray(ImageChops.add(canvas, layer)))
        if wall_x or wall_y:
            bounces.append([t, "wall"])
        if block_x or block_y:
            bounces.append([t, "block"])
        sym = BLOCK if (block_x or block_y) else WALL if (wall_x or wall_y) else label
        f1, f2 = (int(f) for f in TONES[sym])
        dist = math.hypot(x, y)
        a = round(min(max(D0 / (D0 + dist) if law == "paper" else dist / D_MAX, 0.0), 1.0), 6)
        waves.append(0.5 * a * (np.sin(2 * np.pi * f1 * n) + np.sin(2 * np.pi * f2 * n)))
        positions.append([x, y])
        tones.append([f1, f2])
        amps.append(a)
    meta = {"label": label, "mnist_index": int(digits.index[k]), "positions": positions, "bounces": bounces,
            "tones": tones, "amplitude": amps, "block": None if box is None else
            {"box": list(box), "first_frame": BLOCK_FIRST}, "law": law}
    return Clip(id=f"{name}/{split}/{index:06d}", frames=np.stack(frames)[..., None],
                audio=np.concatenate(waves).astype(np.float32), meta=meta)
