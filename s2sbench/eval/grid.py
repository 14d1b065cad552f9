"""``grid.gif``'s frames: clips side by side, one row per kind of video, labelled, with the predicted part marked.

Rows: ground truth, the best sample (by the evaluation's selection metric), then random samples; columns: clips.
Every video starts with the clip's real seen frames; each panel has a border that is blue (``SEEN_RGB``) while the
frames shown are the seen ones and orange (``PREDICTED_RGB``) from the first predicted frame on, and a header says
``frame t/T`` and ``seen`` / ``predicted``. Text is drawn with a built-in 5x7 bitmap font (``text``), so no imaging
library is needed.
"""
from __future__ import annotations

import numpy as np

SEEN_RGB = (30, 136, 229)  # blue: real frames the model saw (as in the human study's videos)
PREDICTED_RGB = (240, 140, 0)  # orange: frames the model predicted
TEXT_RGB = (235, 235, 235)
BACKGROUND = 24  # dark grey
BORDER = 2  # px around each panel
GAP = 2  # px between panels

# 5x7 glyphs, one string of 7 rows per character ("#" = ink, read left to right, top to bottom).
_GLYPHS = {
    "A": ".###.#...##...#######...##...##...#", "B": "####.#...##...#####.#...##...#####.",
    "C": ".###.#...##....#....#....#...#.###.", "D": "####.#...##...##...##...##...#####.",
    "E": "######....#....####.#....#....#####", "F": "######....#....####.#....#....#....",
    "G": ".###.#...##....#.####...##...#.####", "H": "#...##...##...#######...##...##...#",
    "I": ".###...#....#....#....#....#...###.", "J": "..###...#....#....#.#..#.#..#..##..",
    "K": "#...##..#.#.#..##...#.#..#..#.#...#", "L": "#....#....#....#....#....#....#####",
    "M": "#...###.###.#.##.#.##...##...##...#", "N": "#...##...###..##.#.##..###...##...#",
    "O": ".###.#...##...##...##...##...#.###.", "P": "####.#...##...#####.#....#....#....",
    "Q": ".###.#...##...##...##.#.##..#..##.#", "R": "####.#...##...#####.#.#..#..#.#...#",
    "S": ".#####....#.....###.....#....#####.", "T": "#####..#....#....#....#....#....#..",
    "U": "#...##...##...##...##...##...#.###.", "V": "#...##...##...##...##...#.#.#...#..",
    "W": "#...##...##...##.#.##.#.##.#.#.#.#.", "X": "#...##...#.#.#...#...#.#.#...##...#",
    "Y": "#...##...#.#.#...#....#....#....#..", "Z": "#####....#...#...#...#...#....#####",
    "0": ".###.#...##..###.#.###..##...#.###.", "1": "..#...##....#....#....#....#...###.",
    "2": ".###.#...#....#...#...#...#...#####", "3": "####.....#....#.###.....#....#####.",
    "4": "...#...##..#.#.#..#.#####...#....#.", "5": "######....####.....#....##...#.###.",
    "6": "..##..#...#....####.#...##...#.###.", "7": "#####....#...#...#...#....#....#...",
    "8": ".###.#...##...#.###.#...##...#.###.", "9": ".###.#...##...#.####....#...#..##..",
    " ": "...................................", "/": "....#....#...#...#...#...#....#....",
    "-": "................###................", ":": "......##...##........##...##.......",
    ".": "..........................##...##..",
}


def text(s: str) -> np.ndarray:
    """``s`` (upper-cased) as a bool mask (7, 6 * len(s) - 1); characters without a glyph are blank."""
    s = s.upper()
    out = np.zeros((7, max(1, 6 * len(s) - 1)), bool)
    for i, ch in enumerate(s):
        g = _GLYPHS.get(ch, _GLYPHS[" "]).ljust(35, ".")
        out[:, 6 * i: 6 * i + 5] = np.array([c == "#" for c in g]).reshape(7, 5)
    return out


def _draw(img: np.ndarray, mask: np.ndarray, y: int, x: int, rgb=TEXT_RGB) -> None:
    h, w = mask.shape
    h, w = min(h, img.shape[0] - y), min(w, img.shape[1] - x)
    img[y:y + h, x:x + w][mask[:h, :w]] = rgb


def compose(rows: list[tuple[str, np.ndarray]], n_past: int) -> np.ndarray:
    """``rows``: (label, videos (clips, T, H, W, C) uint8) per row -> grid frames (T, H', W', 3) uint8."""
    labels = [text(lb) for lb, _ in rows]
    n_clips, T, H, W, C = rows[0][1].shape
    pw, ph = W + 2 * BORDER, H + 2 * BORDER  # panel size
    left = max(m.shape[1] for m in labels) + 6
    top = 7 + 6
    out = np.full((T, top + len(rows) * (ph + GAP), left + n_clips * (pw + GAP), 3), BACKGROUND, np.uint8)
    for r, ((_, videos), mask) in enumerate(zip(rows, labels)):
        y = top + r * (ph + GAP)
        for t in range(T):
            _draw(out[t], mask, y + (ph - 7) // 2, 3)
        for c in range(n_clips):
            x = left + c * (pw + GAP)
            v = videos[c] if C == 3 else np.repeat(videos[c], 3, axis=-1)
            out[:n_past, y:y + ph, x:x + pw] = SEEN_RGB
            out[n_past:, y:y + ph, x:x + pw] = PREDICTED_RGB
            out[:, y + BORDER:y + BORDER + H, x + BORDER:x + BORDER + W] = v
    for t in range(T):
        seen = t < n_past
        _draw(out[t], text(f"frame {t + 1}/{T}"), 3, 3)
        _draw(out[t], text("seen" if seen else "predicted"), 3, left, SEEN_RGB if seen else PREDICTED_RGB)
    return out
