"""Per-frame audio features, computed in the loader from the stored waveform (never stored).

Each feature maps the waveform cut per video frame, ``(T, spf)`` float32, to ``(T, F)`` float32, and says its
``dim`` (F) and, for 2-D features, the ``patch`` shape ``(bins, steps)`` with ``bins * steps == F`` so that
convolutional audio encoders can view a frame's feature as an image.

- ``raw``: the waveform itself, F = spf.
- ``stft`` (the paper's): |STFT| of each frame's samples, Hann window, centred with reflect padding, hop n_fft/2.
  For M3SO (spf 440) n_fft = 44 and hop = 22 give the original 23 x 21 patch; for 22050 Hz / 30 fps (spf 735)
  n_fft = 88 and hop = 44 give the original 45 x 17 patch. Other rates use n_fft = the even number nearest spf / 10
  (these two patch shapes are inferred from the original model code; its featuriser was not released).
- ``mel``: log(1 + mel power) with 32 triangular Slaney-style bands on the same frames.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from s2sbench.data.clip import ClipSpec
from s2sbench.registry import Registry

AUDIO_FEATURES: Registry[type["AudioFeature"]] = Registry("audio feature")

STFT_PRESETS = {440: 44, 735: 88}


class AudioFeature:
    name = "base"

    def __init__(self, spec: ClipSpec) -> None:
        self.spec = spec

    @property
    def dim(self) -> int:
        raise NotImplementedError

    @property
    def patch(self) -> tuple[int, int] | None:
        return None

    def __call__(self, frames: np.ndarray) -> np.ndarray:  # (T, spf) -> (T, F)
        raise NotImplementedError


@AUDIO_FEATURES.register("raw")
class RawAudio(AudioFeature):
    name = "raw"

    @property
    def dim(self) -> int:
        return self.spec.samples_per_frame

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(frames, dtype=np.float32)


@AUDIO_FEATURES.register("stft")
class StftAudio(AudioFeature):
    name = "stft"

    @cached_property
    def n_fft(self) -> int:
        spf = self.spec.samples_per_frame
        return STFT_PRESETS.get(spf, max(4, 2 * round(spf / 20)))

    @property
    def hop(self) -> int:
        return self.n_fft // 2

    @property
    def patch(self) -> tuple[int, int]:
        return (self.n_fft // 2 + 1, 1 + self.spec.samples_per_frame // self.hop)

    @property
    def dim(self) -> int:
        b, s = self.patch
        return b * s

    @cached_property
    def _window(self) -> np.ndarray:
        n = np.arange(self.n_fft)
        return (0.5 - 0.5 * np.cos(2 * np.pi * n / self.n_fft)).astype(np.float32)  # periodic Hann

    def spectrum(self, frames: np.ndarray) -> np.ndarray:
        """Complex STFT per frame: (T, spf) -> (T, bins, steps)."""
        T, spf = frames.shape
        pad = self.n_fft // 2
        x = np.pad(frames.astype(np.float32), ((0, 0), (pad, pad)), mode="reflect")  # (T, spf + n_fft)
        steps = self.patch[1]
        idx = np.arange(steps)[:, None] * self.hop + np.arange(self.n_fft)[None, :]  # (steps, n_fft)
        seg = x[:, idx] * self._window  # (T, steps, n_fft)
        return np.fft.rfft(seg, axis=-1).transpose(0, 2, 1)  # (T, bins, steps)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return np.abs(self.spectrum(frames)).reshape(frames.shape[0], -1).astype(np.float32)


@AUDIO_FEATURES.register("mel")
class MelAudio(StftAudio):
    name = "mel"
    n_mels = 32

    @property
    def patch(self) -> tuple[int, int]:
        return (self.n_mels, super().patch[1])

    @cached_property
    def _filters(self) -> np.ndarray:
        sr, bins = self.spec.sample_rate, self.n_fft // 2 + 1
        mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
        imel = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
        edges = imel(np.linspace(mel(0.0), mel(sr / 2), self.n_mels + 2))
        freqs = np.linspace(0, sr / 2, bins)
        lo, c, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        tri = np.maximum(0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)))
        return (tri * (2.0 / (hi - lo))).astype(np.float32)  # (n_mels, bins), area-normalised

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        power = np.abs(self.spectrum(frames)) ** 2  # (T, bins, steps)
        mel = np.einsum("mb,tbs->tms", self._filters, power)
        return np.log1p(mel).reshape(frames.shape[0], -1).astype(np.float32)


def audio_feature(name: str, spec: ClipSpec) -> AudioFeature:
    return AUDIO_FEATURES.get(name)(spec)
