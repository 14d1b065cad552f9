"""Which decoded clips are not worth keeping, and why: short, black, frozen or silent (never padded silently).

``reject_reason(frames, audio, spec)`` returns ``None`` for a good clip or the reason that becomes the manifest status
``rejected:<reason>``. The thresholds live in ``QualityRule`` (documented defaults, tunable per run).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s2sbench.data.clip import ClipSpec


@dataclass(frozen=True)
class QualityRule:
    """Thresholds on uint8 frames (0-255) and float audio in [-1, 1].

    - short: fewer than ``num_frames`` frames, or audio short by more than ``audio_slack_frames`` video frames'
      worth of samples (a shortfall within the slack is zero-padded and recorded in the clip's meta);
    - black: at least ``black_fraction`` of the frames have their 98th-percentile value below ``black_level``;
    - frozen: a run of ``frozen_frames`` consecutive frames in which fewer than ``changed_fraction`` of the values
      differ by more than ``change_level`` from the previous frame (a still image, a stalled decoder);
    - silent: audio RMS below ``silence_rms`` (-60 dBFS by default).
    """

    audio_slack_frames: float = 0.5
    black_level: float = 24.0
    black_fraction: float = 0.5
    change_level: int = 10
    changed_fraction: float = 0.001
    frozen_frames: int = 30
    silence_rms: float = 1e-3


def fit_audio(audio: np.ndarray, spec: ClipSpec, rule: QualityRule) -> tuple[np.ndarray | None, int]:
    """Crop audio to exactly ``spec.num_samples``; pad a shortfall within the slack; ``(None, missing)`` if short."""
    need = spec.num_samples
    missing = need - audio.size
    if missing > rule.audio_slack_frames * spec.samples_per_frame:
        return None, missing
    if missing > 0:
        audio = np.concatenate([audio, np.zeros(missing, np.float32)])
    return np.clip(audio[:need], -1.0, 1.0).astype(np.float32), max(missing, 0)


def longest_frozen_run(frames: np.ndarray, rule: QualityRule) -> int:
    """Length (in frames) of the longest run of frames each nearly identical to the one before."""
    if len(frames) < 2:
        return len(frames)
    diff = np.abs(np.diff(frames.astype(np.int16), axis=0)) > rule.change_level
    same = diff.reshape(len(diff), -1).mean(axis=1) < rule.changed_fraction
    best = run = 0
    for s in same:
        run = run + 1 if s else 0
        best = max(best, run)
    return best + 1 if best else 1


def reject_reason(frames: np.ndarray, audio: np.ndarray, spec: ClipSpec,
                  rule: QualityRule = QualityRule()) -> str | None:
    """``None`` if the clip is usable, else one of ``short``, ``black``, ``frozen``, ``silent``."""
    if len(frames) < spec.num_frames:
        return "short"
    fitted, _ = fit_audio(audio, spec, rule)
    if fitted is None:
        return "short"
    p98 = np.percentile(frames.reshape(len(frames), -1), 98, axis=1)
    if (p98 < rule.black_level).mean() >= rule.black_fraction:
        return "black"
    if longest_frozen_run(frames, rule) >= rule.frozen_frames:
        return "frozen"
    if float(np.sqrt(np.mean(fitted.astype(np.float64) ** 2))) < rule.silence_rms:
        return "silent"
    return None
