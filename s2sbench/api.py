"""The Python API: load a finished run, sample predictions for your own clips, score them.

Example::

    import s2sbench
    run = s2sbench.load_run("runs/m3so-nb/svg_lp-quick-seed0")   # best.pt (the evaluated checkpoint) + result.json
    run.result.scores["best_per_frame"]["ssim_paper"]["avg"]      # the run's recorded scores (RunResult)
    pred = run.predict(context, audio, n_future=20, n_samples=10)  # your clips
    run.score(pred, target)                                       # {"ssim_paper": 0.71, "psnr": 14.8, ...}

Arrays are channel-last, as video readers give them: ``context`` ``(n_past, H, W, C)`` or batched
``(B, n_past, H, W, C)``, uint8 (0-255) or float in [0, 1]; the frame size and channels must be the run's
(``run.spec``). ``audio`` is either the dataset's per-frame feature ``(n_past + n_future, F)`` (batched
``(B, n_past + n_future, F)``) or the raw mono waveform ``(samples,)`` (batched ``(B, samples)``; int16 or float in
[-1, 1]) at the dataset's sample rate, of which the first ``(n_past + n_future) * samples_per_frame`` samples are cut
per frame and turned into the run's audio feature exactly as the loader does. ``predict`` returns float32 in [0, 1],
``(n_samples, n_future, H, W, C)`` (batched: ``(B, n_samples, n_future, H, W, C)``). ``score`` scores predictions
against ``target`` frames ``(n_future, H, W, C)`` with every registered image metric (``METRICS`` entries that need
no ground-truth annotations) under a protocol (default the paper's, ``PAPER``) and returns each metric's average.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from s2sbench.data.audio import audio_feature
from s2sbench.data.clip import ClipSpec
from s2sbench.data.datasets import DATASETS
from s2sbench.errors import ConfigError, InputError
from s2sbench.eval.metrics import METRICS, selected
from s2sbench.eval.protocols import PAPER, apply, summarize
from s2sbench.predictor import DataSpec, VideoPredictor
from s2sbench.report.results import RESULT_NAME, RunResult
from s2sbench.train.checkpoint import load_checkpoint

__all__ = ["Run", "load_run"]

CHECKPOINTS = ("best.pt", "last.pt")  # the evaluated checkpoint first


@dataclass
class Run:
    """A loaded run: its ``model`` (eval mode), ``result`` (``RunResult``; None before evaluation), the
    ``spec`` the model was built for, the dataset's ``clip_spec`` (sample rate, fps) and the ``checkpoint`` read."""

    path: Path
    model: VideoPredictor
    result: RunResult | None
    spec: DataSpec
    clip_spec: ClipSpec
    checkpoint: Path
    device: torch.device

    @torch.no_grad()
    def predict(self, context, audio=None, n_future: int | None = None, n_samples: int = 1,
                seed: int | None = None) -> np.ndarray:
        """Sample ``n_samples`` continuations of ``n_future`` frames (default: the run's) for each clip; see the
        module docstring for the shapes. ``seed`` makes the sampling repeatable."""
        n_future = int(n_future or self.spec.n_future)
        ctx, batched = self._frames(context, "context")
        total = ctx.shape[1] + n_future
        feats = self._audio(audio, ctx.shape[0], total, batched)
        if seed is not None:
            torch.manual_seed(seed)
        out = self.model.sample(ctx.to(self.device), feats.to(self.device), n_future, n_samples)  # (B,S,F,C,H,W)
        out = out.float().clamp(0, 1).permute(0, 1, 2, 4, 5, 3).cpu().numpy()
        return out if batched else out[0]

    def score(self, pred, target, protocol: str = PAPER.protocol, per_frame: bool = False,
              learned: bool = False) -> dict:
        """Scores of ``pred`` (``predict``'s output) against ``target`` (``(n_future, H, W, C)``, batched
        ``(B, n_future, H, W, C)``) under ``protocol``: metric -> average over clips and frames (``per_frame``:
        metric -> the per-frame curve). Every registered per-frame metric that needs no ground-truth annotations;
        the learned ones (LPIPS) only with ``learned``, as ``eval.learned_metrics`` (their weights are checked)."""
        tgt, batched = self._frames(target, "target")
        p = torch.as_tensor(np.asarray(pred, dtype=np.float32))
        if not batched:
            p = p.unsqueeze(0)
        if p.dim() != 6 or p.shape[0] != tgt.shape[0] or p.shape[2] != tgt.shape[1]:
            raise InputError(f"pred has shape {tuple(p.shape)}; expected (B, S, {tgt.shape[1]}, H, W, C) as predict "
                             f"returns for targets {tuple(tgt.shape)}")
        p = p.permute(0, 1, 2, 5, 3, 4)  # (B, S, F, C, H, W)
        out = {}
        for name in selected(learned=learned):
            m = METRICS.get(name)
            if m.truth or m.scope != "frame":
                continue
            summary = summarize(apply(protocol, m.per_frame(p, tgt), m.higher_is_better), m.cap)
            out[name] = summary["curve"] if per_frame else summary["avg"]
        return out

    def _frames(self, x, what: str) -> tuple[torch.Tensor, bool]:
        """Channel-last uint8/float frames -> (B, T, C, H, W) float in [0, 1], and whether they came batched."""
        a = np.asarray(x)
        if a.ndim not in (4, 5):
            raise InputError(f"{what}: expected frames (T, H, W, C) or (B, T, H, W, C), got shape {a.shape}")
        batched = a.ndim == 5
        a = a if batched else a[None]
        want = (self.spec.height, self.spec.width, self.spec.channels)
        if a.shape[2:] != want:
            raise InputError(f"{what}: frames are {a.shape[2:]} (H, W, C); this run's model takes {want}: resize "
                             f"your clips first")
        t = torch.from_numpy(a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32))
        return t.permute(0, 1, 4, 2, 3).contiguous(), batched

    def _audio(self, audio, batch: int, total: int, batched: bool) -> torch.Tensor:
        """(B, total, F) per-frame features from features, a raw waveform or None (silence)."""
        spf, dim = self.clip_spec.samples_per_frame, self.spec.audio_dim
        if audio is None:
            if self.model.uses_audio:
                raise InputError(f"audio: {self.model.name} is conditioned on audio; pass the waveform or features")
            return torch.zeros(batch, total, dim)
        a = np.asarray(audio)
        a = a if batched else a[None]
        if a.shape[0] != batch:
            raise InputError(f"audio: {a.shape[0]} clips, context has {batch}")
        if a.ndim == 2:  # raw waveform (B, samples)
            if a.shape[1] < total * spf:
                raise InputError(f"audio: {a.shape[1]} samples; {total} frames at {spf} samples per frame "
                                 f"({self.clip_spec.sample_rate} Hz, {self.clip_spec.fps} fps) need {total * spf}")
            wave = a[:, : total * spf].astype(np.float32) / (32768.0 if a.dtype == np.int16 else 1.0)
            feat = audio_feature(self.spec.audio_feature, self.clip_spec)
            return torch.from_numpy(np.stack([feat(w.reshape(total, spf)) for w in wave]).astype(np.float32))
        if a.ndim != 3 or a.shape[1] < total or a.shape[2] != dim:
            raise InputError(f"audio: features of shape {a.shape[1:]}; this run needs ({total}, {dim}) per clip "
                             f"({self.spec.audio_feature}), or pass the raw waveform")
        return torch.from_numpy(a[:, :total].astype(np.float32))


def load_run(run_dir: str | os.PathLike, checkpoint: str | os.PathLike | None = None,
             device: str | torch.device = "cpu") -> Run:
    """Load the run in ``run_dir``: the model from ``checkpoint`` (default ``best.pt``, the one evaluated, else
    ``last.pt``) on ``device``, in eval mode, and its ``result.json`` when it has one."""
    path = Path(run_dir)
    if checkpoint is None:
        found = [path / c for c in CHECKPOINTS if (path / c).exists()]
        if not found:
            raise InputError(f"{path}: no {' or '.join(CHECKPOINTS)} here (is it a run directory? the committed "
                             f"leaderboard keeps results, not checkpoints: rerun with `s2sbench run`)")
        checkpoint = found[0]
    try:
        model, ck = load_checkpoint(checkpoint, map_location=device)
    except (FileNotFoundError, ValueError) as e:
        raise InputError(str(e)) from None
    result = RunResult.load(path) if (path / RESULT_NAME).exists() else None
    dataset = ck.get("dataset") or (result.dataset if result else None)
    if not dataset or dataset not in DATASETS:
        raise ConfigError(f"{checkpoint}: records no registered dataset ({dataset!r}); its audio cannot be computed")
    model.eval()
    return Run(path, model, result, model.spec, DATASETS.get(dataset).spec, Path(checkpoint), torch.device(device))
