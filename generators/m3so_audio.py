"""M3SO audio: the tone table, the amplitude laws and the per-frame synthesis (4400 Hz, 440 samples per frame).

Each frame sounds one pair of pure tones, ``0.5 * A * (sin 2 pi f1 t + sin 2 pi f2 t)``, where the pair is the
digit's own (DTMF-like: a low tone picked by ``label // 4``, a high tone by ``label % 4``, as the original's table)
or, in a frame where the digit bounces, the wall pair or the block pair. All tones are multiples of 100 Hz below
the 2200 Hz Nyquist limit, so each is a whole number of cycles per 440-sample frame (phase-continuous, exactly one
bin of a per-frame FFT, whose bins are 10 Hz apart) and each falls on its own bin of the 23-bin STFT features
(100 Hz bins). The low tone 900 Hz is used only by the two bounce pairs, so it alone marks a bounce.

=========  =========  ==========
symbol     f1 (Hz)    f2 (Hz)
=========  =========  ==========
digit 0-3  300        1200, 1400, 1600, 1800
digit 4-7  500        1200, 1400, 1600, 1800
digit 8-9  700        1200, 1400
wall       900        1200
block      900        1800
=========  =========  ==========

Amplitude ``A`` from the distance ``d`` of the digit's top-left corner to the canvas origin (0, 0), with
``D_MAX = 20 * sqrt(2)`` the largest possible distance:

- ``paper`` ("inversely proportional to the distance"): ``A = D0 / (D0 + d)`` with ``D0 = D_MAX / 4``: 1 at the
  origin, monotone decreasing, 0.2 at the far corner, always in (0, 1].
- ``merl`` (the original code): ``A = d / D_MAX``, proportional to the distance, in [0, 1].

``A`` is rounded to 6 decimals and stored in the clip's meta exactly as used. Peaks are at most ``A <= 1``, so the
waveform never clips and its int16 storage never wraps. ``A`` depends only on the digit's cell (one of the 21 x 21
integer positions), so a batch is synthesised as one lookup in a table of every (symbol, cell) frame waveform.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from s2sbench.errors import ConfigError

from .m3so_physics import LIMIT

SAMPLE_RATE = 4400
FPS = 10
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
LOW = (300, 500, 700, 900)
HIGH = (1200, 1400, 1600, 1800)
WALL, BLOCK = 10, 11  # symbols after the ten digits
TONES = np.array([(LOW[d // 4], HIGH[d % 4]) for d in range(10)] + [(LOW[3], HIGH[0]), (LOW[3], HIGH[3])],
                 dtype=np.int64)  # (12, 2) Hz, indexed by symbol
D_MAX = float(np.hypot(20, 20))
D0 = D_MAX / 4
LAWS = ("paper", "merl")


def amplitude(distance: np.ndarray, law: str) -> np.ndarray:
    """Per-frame amplitude from the distance to the origin (see the module docstring), rounded to 6 decimals."""
    distance = np.asarray(distance, dtype=np.float64)
    if law == "paper":
        a = D0 / (D0 + distance)
    elif law == "merl":
        a = distance / D_MAX
    else:
        raise ConfigError(f"unknown amplitude law {law!r} (use one of {', '.join(LAWS)})")
    return np.round(np.clip(a, 0.0, 1.0), 6)


def symbols(labels: np.ndarray, wall: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Per-frame symbol (N, T): the digit's label, ``WALL`` in wall-bounce frames, ``BLOCK`` in block-bounce frames.

    A frame with both a wall and a block bounce sounds the block pair.
    """
    sym = np.broadcast_to(np.asarray(labels)[:, None], wall.shape).copy()
    sym[wall] = WALL
    sym[block] = BLOCK
    return sym


def _tone_table() -> np.ndarray:
    n = np.arange(SAMPLES_PER_FRAME) / SAMPLE_RATE
    w = 0.5 * (np.sin(2 * np.pi * TONES[:, :1] * n) + np.sin(2 * np.pi * TONES[:, 1:] * n))
    return w.astype(np.float32)  # (12, 440), |w| <= 1


WAVEFORMS = _tone_table()
CELLS = (LIMIT + 1) ** 2  # digit positions: cell ``y * (LIMIT + 1) + x``


@lru_cache(maxsize=None)
def cell_amplitudes(law: str) -> np.ndarray:
    """Amplitude (CELLS,) float64 of the digit in each cell (position of its top-left corner)."""
    y, x = np.divmod(np.arange(CELLS), LIMIT + 1)
    a = amplitude(np.hypot(x, y), law)
    a.flags.writeable = False
    return a


@lru_cache(maxsize=None)
def frame_waves(law: str) -> np.ndarray:
    """Every frame's waveform (12 * CELLS, 440) float32: row ``symbol * CELLS + cell`` (9.3 MB, made once)."""
    amp = cell_amplitudes(law).astype(np.float32)
    w = (WAVEFORMS[:, None, :] * amp[None, :, None]).reshape(-1, SAMPLES_PER_FRAME)
    w.flags.writeable = False
    return w


def synthesize(sym: np.ndarray, cell: np.ndarray, law: str, out: np.ndarray | None = None) -> np.ndarray:
    """Waveforms (N, T * 440) float32 for per-frame symbols and digit cells (N, T); written into ``out`` if given.

    Frame ``t`` is ``WAVEFORMS[sym] * float32(A)`` with ``A = cell_amplitudes(law)[cell]``, looked up in
    ``frame_waves(law)`` so the batch is one gather.
    """
    N, T = sym.shape
    wave = np.empty((N, T * SAMPLES_PER_FRAME), np.float32) if out is None else out
    rows = sym * CELLS + cell  # (N, T)
    np.take(frame_waves(law), rows, axis=0, out=wave.reshape(N, T, SAMPLES_PER_FRAME), mode="clip")  # no buffering
    return wave
