"""The one record every data source produces and every loader returns: ``Clip``, plus its dataset-wide ``ClipSpec``.

Frames are ``(T, H, W, C)`` uint8; audio is a mono float32 waveform in [-1, 1] of exactly
``T * spec.samples_per_frame`` samples, so the audio of frame ``t`` is the slice
``audio[t * spf:(t + 1) * spf]``. ``meta`` is free-form JSON-serialisable ground truth (labels, trajectories, ...).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from s2sbench.errors import InputError


@dataclass(frozen=True)
class ClipSpec:
    """Constants shared by every clip of a dataset; stored in ``index.json``."""

    fps: int
    sample_rate: int
    num_frames: int
    height: int
    width: int
    channels: int

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"ClipSpec.{f.name} must be a positive integer, got {v!r}")
        if self.sample_rate % self.fps:
            raise ValueError(f"sample_rate {self.sample_rate} is not divisible by fps {self.fps}")

    @property
    def samples_per_frame(self) -> int:
        return self.sample_rate // self.fps

    @property
    def num_samples(self) -> int:
        return self.num_frames * self.samples_per_frame

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(T, H, W, C)`` of a clip's frames."""
        return (self.num_frames, self.height, self.width, self.channels)

    def to_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClipSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown, missing = set(d) - names, names - set(d)
        if unknown or missing:
            raise InputError(f"bad ClipSpec: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
        return cls(**{k: int(v) for k, v in d.items()})


@dataclass(frozen=True)
class Clip:
    """One audio-visual clip. ``frames`` (T, H, W, C) uint8; ``audio`` (T * spf,) float32 in [-1, 1]."""

    id: str
    frames: np.ndarray
    audio: np.ndarray
    meta: Mapping[str, Any] = field(default_factory=dict)

    def check(self, spec: ClipSpec) -> "Clip":
        """Raise ``InputError`` naming the clip and the problem unless the clip matches ``spec``; return self."""
        where = f"clip {self.id!r}"
        if not isinstance(self.id, str) or not self.id:
            raise InputError(f"{where}: id must be a non-empty string")
        f, a = self.frames, self.audio
        if not isinstance(f, np.ndarray) or f.dtype != np.uint8:
            raise InputError(f"{where}: frames must be a uint8 array, got {getattr(f, 'dtype', type(f))}")
        if f.shape != spec.frame_shape:
            raise InputError(f"{where}: frames have shape {f.shape}, expected {spec.frame_shape} (T, H, W, C)")
        if not isinstance(a, np.ndarray) or a.dtype != np.float32:
            raise InputError(f"{where}: audio must be a float32 array, got {getattr(a, 'dtype', type(a))}")
        if a.shape != (spec.num_samples,):
            raise InputError(f"{where}: audio has shape {a.shape}, expected ({spec.num_samples},)")
        if not np.isfinite(a).all() or np.abs(a).max(initial=0.0) > 1.0:
            raise InputError(f"{where}: audio must be finite and within [-1, 1]")
        return self

    def audio_frames(self, spec: ClipSpec) -> np.ndarray:
        """The waveform cut per video frame: ``(T, samples_per_frame)``."""
        return self.audio.reshape(spec.num_frames, spec.samples_per_frame)
