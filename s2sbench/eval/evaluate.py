"""Best-of-N evaluation of a model on an opened dataset (``s2sbench.data.handle.Data``) -> the evaluation fields of
a ``RunResult``. One stage per function, in the order a batch goes through them:

1. plan (``_plan``): the clips (the first ``n_clips`` of ``eval.split``, in order; the paper: the first 1000) and
   the metrics that apply to them (every registered one unless ``eval.metrics`` restricts them; the learned ones,
   LPIPS and FVD, only with ``eval.learned_metrics``, their weights checked), checked before any sampling;
2. sample (``_sample``): the model sees the ``n_past`` ground-truth frames and the audio of the whole clip and
   returns N samples of the ``n_future`` frames (``DatasetInfo.n_future_test``). Stochastic models are sampled N
   times, all N of a clip in one ``sample`` call (``eval.sample_chunk``); deterministic ones once, and that sample
   stands for all N (recorded in ``RunResult.sampling``); in fp32 unless ``eval.precision=bf16`` (bf16 autocast:
   1.6-1.8x faster sampling on a CPU with native bf16, different numbers; docs/performance.md);
3. score (``_score``): every metric on every sample and frame, with the ground truth the metric needs read from
   ``Batch.meta`` (``batch_truth``); after the last batch each protocol (``s2sbench.eval.protocols``) reduces the scores
   to per-clip curves averaged over clips (``_summaries``), and each metric's definition version is recorded;
   the set-level metrics (FVD) stream each clip's real video and first sample (``s2sbench.eval.set_scores``);
4. extras (``s2sbench.eval.extras.Extras``): best-of-K curves, mean pairwise SSIM among the samples of the first ``diversity_clips``
   clips (and on Farneback flow for real datasets), and the fooling rate of a model with its own discriminator;
5. writers (``Writers``): ``samples.h5`` (the best sample by the paper's metric of the first ``save_samples``
   clips, see ``s2sbench.eval.samples``) and ``grid.gif`` (labelled rows: ground truth, best sample, random
   samples; see ``s2sbench.eval.grid``).
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

from s2sbench.data.handle import Data
from s2sbench.data.loader import Batch, ClipDataset, make_loader
from s2sbench.errors import ConfigError, InputError
from s2sbench.eval.extras import Extras
from s2sbench.eval.metrics import METRICS, Metric, SetMetric, selected
from s2sbench.eval.protocols import PAPER, PROTOCOLS, apply, summarize
from s2sbench.eval.samples import SampleWriter
from s2sbench.eval.set_scores import SetScores, check_options
from s2sbench.eval.truth_metrics import Truth
from s2sbench.predictor import VideoPredictor


@dataclass
class EvalConfig:
    split: str = "test"
    n_samples: int = 100
    n_clips: int = 0  # 0: every clip of the split
    protocols: tuple[str, ...] = field(default_factory=lambda: tuple(PROTOCOLS.ordered()))  # every registered one
    metrics: tuple[str, ...] = ()  # () = every registered metric (METRICS, in registration order) but see below
    learned_metrics: bool = False  # () above includes the learned metrics (LPIPS, FVD: a network scores; slower)
    set_frames: str = "future"  # frames the set metrics (FVD) see: "future" = predicted, "clip" = seen + predicted
    set_chunk: int = 0  # 0: set metrics over the whole set; k: mean over chunks of k clips (CCVS's FVD: 256)
    batch_clips: int = 0  # clips per sampling batch; 0: as many as fit memory_mb
    sample_chunk: int = 0  # samples per model.sample call; 0: all N at once
    precision: str = "fp32"  # sampling: "fp32" or "bf16" (autocast; faster on CPUs with native bf16, other numbers)
    memory_mb: int = 512  # budget for one batch of predictions (B x N x T x C x H x W float32)
    save_samples: int = 100  # clips whose best sample goes to samples.h5
    diversity_clips: int = 10  # clips for the pairwise-diversity curves (S^2 / 2 SSIMs per frame each)
    grid_clips: int = 4  # clips in grid.gif
    seed: int = 0
    num_workers: int = 0
    score_threads: int = 1  # torch threads while scoring on the CPU (0: torch's default); see _threads

    RANGES = {"n_samples": (1, None), "n_clips": (0, None), "batch_clips": (0, None), "sample_chunk": (0, None),
              "memory_mb": (1, None), "save_samples": (0, None), "diversity_clips": (0, None), "grid_clips": (0, None),
              "seed": (0, 2**63 - 1), "num_workers": (0, None), "score_threads": (0, None)}  # see s2sbench.config


def evaluate(model: VideoPredictor, data: Data, cfg: EvalConfig, *, device: torch.device | str = "cpu",
             out_dir: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Evaluate ``model`` on ``data``; returns the evaluation fields of a ``RunResult`` (see the module docstring)."""
    from tqdm import tqdm

    t_start, device = time.perf_counter(), torch.device(device)
    plan = _plan(model, data, cfg)
    P, F, S = plan.n_past, plan.n_future, cfg.n_samples
    frame_bytes = model.spec.channels * model.spec.height * model.spec.width * 4
    loader = make_loader(Subset(plan.clips, range(plan.n_clips)), _batch_clips(cfg, S * F * frame_bytes),
                         num_workers=cfg.num_workers)
    scores: dict[str, list[torch.Tensor]] = {m: [] for m in plan.metrics}
    extras = Extras(model, cfg.diversity_clips, flow=not data.info.synthetic)
    writers = Writers(model.name, data, cfg, plan, model.stochastic)
    sets = SetScores(plan.sets, data.digest, cfg.split, P, F, cfg.set_frames, cfg.set_chunk, plan.n_clips)
    clock = {"sampling_s": 0.0, "scoring_s": 0.0, "set_scoring_s": 0.0}
    torch.manual_seed(cfg.seed)
    stream = SamplingStream(device)  # the samples depend on the seed and the model alone, not on what is scored
    model.eval().to(device)
    bf16 = cfg.precision == "bf16"
    bar = tqdm(total=plan.n_clips, disable=not progress, desc=f"evaluate {model.name}", unit="clip",
               dynamic_ncols=True)
    for batch in loader:
        batch = batch.to(device)
        target = batch.video[:, P:]  # (B, F, C, H, W)
        with _timed(clock, "sampling_s"), stream, torch.no_grad(), torch.autocast(device.type, torch.bfloat16, bf16):
            pred = _sample(model, batch.video[:, :P], batch.audio, F, S, cfg.sample_chunk)  # (B, S, F, C, H, W)
        with _threads(cfg.score_threads if device.type == "cpu" else 0):
            with _timed(clock, "scoring_s"):
                batch_scores = _score(plan.metrics, model, pred, target, batch_truth(batch.meta, P, P + F))
            with _timed(clock, "set_scoring_s"):
                sets.add(batch.video, batch.ids, pred)
            extras.diversity(batch, pred, target)
        extras.judge(batch)
        for name, v in batch_scores.items():
            scores[name].append(v)
        writers.add(batch, pred, target, batch_scores[plan.select])
        bar.update(len(batch))
    bar.close()
    full = {m: torch.cat(v) for m, v in scores.items()}  # (N, S, F)
    out = {"split": cfg.split, "n_past": P, "n_future": F, "n_samples": S,
           "sampling": ("stochastic: N independent samples per clip" if model.stochastic
                        else "deterministic: sampled once, the sample replicated N times"),
           "protocols": list(cfg.protocols), "metrics": {n: m.record() for n, m in (plan.metrics | plan.sets).items()},
           "scores": _summaries(full, plan.metrics, cfg.protocols), "set_scores": sets.fields(),
           "clips_used": plan.n_clips, "clips_available": len(plan.clips), "table_frames": list(data.info.table_frames),
           "eval": {**asdict(cfg), "metrics": [*plan.metrics, *plan.sets],
                    **{k: round(v, 3) for k, v in clock.items()}},
           **extras.fields(full, plan.metrics)}
    if out_dir is not None:
        writers.save(Path(out_dir), data.spec.fps)
    out["eval"]["wall_time_s"] = round(time.perf_counter() - t_start, 3)
    return out


class SamplingStream:
    """The random-number stream the samples are drawn from, kept apart from everything else an evaluation runs:
    entered around each batch's sampling, it swaps in its own generator state (the one after ``torch.manual_seed``
    when it was made) and swaps it out again. Between batches other code may draw from the global generator (a
    metric building its network, ``lpips`` and ``fvd`` do; the discriminator's judge samples), and without this
    the clips of every later batch got other samples when a metric was added or left out."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device if device.type == "cuda" else None
        self.state = self._get()

    def _get(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        return torch.get_rng_state(), torch.cuda.get_rng_state(self.cuda) if self.cuda is not None else None

    def _set(self, state: tuple[torch.Tensor, torch.Tensor | None]) -> None:
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1], self.cuda)

    def __enter__(self) -> None:
        self.outer = self._get()
        self._set(self.state)

    def __exit__(self, *exc) -> None:
        self.state = self._get()
        self._set(self.outer)


# -- 1. plan -------------------------------------------------------------------------------------------------------

@dataclass
class _Plan:
    clips: ClipDataset  # the evaluated split, cut to n_past + n_future frames
    n_clips: int  # the first n_clips of it are evaluated
    metrics: dict[str, Metric]  # the per-frame ones that apply to the clips, registration order
    sets: dict[str, SetMetric]  # the set-level ones
    select: str  # the metric that picks each clip's best sample (samples.h5, grid.gif)
    n_past: int
    n_future: int


def selected_metrics(cfg: EvalConfig) -> list[str]:
    """The metrics ``cfg`` asks for (``metrics.selected``: names and weights checked) after its protocols and set
    options are checked; the runner calls it before any compute."""
    unknown = [p for p in cfg.protocols if p not in PROTOCOLS]
    if unknown:
        raise ConfigError(f"unknown protocol {unknown}; known: {PROTOCOLS.keys()}")
    check_options(cfg.set_frames, cfg.set_chunk)
    if cfg.precision not in ("fp32", "bf16"):
        raise ConfigError(f"eval.precision={cfg.precision!r}: must be fp32 or bf16; set --set eval.precision=fp32")
    return selected(cfg.metrics, cfg.learned_metrics)


def _plan(model: VideoPredictor, data: Data, cfg: EvalConfig) -> _Plan:
    """What to evaluate, every option checked against the registries, the model and the clips."""
    names = selected_metrics(cfg)
    have, s = data.spec, model.spec
    if (have.channels, have.height, have.width) != (s.channels, s.height, s.width):
        raise InputError(f"{data.root}: frames are {have.channels}x{have.height}x{have.width}, the model was built "
                         f"for {s.channels}x{s.height}x{s.width}")
    info = data.info
    clips = data.clips(cfg.split, info.test_frames, s.audio_feature)
    n_clips = min(len(clips), cfg.n_clips) if cfg.n_clips else len(clips)
    meta0 = _shown(clips.meta(0), info.test_frames) if n_clips else {}
    lacking = [m for m in names if m in cfg.metrics and not METRICS.get(m).applies(meta0)]  # named, not applying
    if lacking:
        raise InputError(f"metric(s) {lacking} need ground truth that the clips of {data.root} lack (their meta "
                         f"has {sorted(meta0) or 'nothing'}); drop them from eval.metrics or use data that has it")
    applied = {m: METRICS.get(m) for m in names if METRICS.get(m).applies(meta0)}  # () = every one that applies
    metrics = {n: m for n, m in applied.items() if m.scope == "frame"}
    sets = {n: m for n, m in applied.items() if m.scope == "set"}
    select = PAPER.metric if PAPER.metric in metrics else next(iter(metrics))
    return _Plan(clips, n_clips, metrics, sets, select, info.n_past, info.n_future_test)


def _shown(meta: dict, n_frames: int) -> dict:
    """``meta`` without the block when the block first shows after the evaluated frames."""
    block = meta.get("block")
    if block and block.get("first_frame", 0) < n_frames:
        return meta
    return {k: v for k, v in meta.items() if k != "block"}


def _batch_clips(cfg: EvalConfig, per_clip_bytes: int) -> int:
    return cfg.batch_clips or max(1, min(64, cfg.memory_mb * 2**20 // max(1, per_clip_bytes)))


# -- 2. sample -----------------------------------------------------------------------------------------------------

def _sample(model: VideoPredictor, context, audio, n_future: int, n: int, chunk: int) -> torch.Tensor:
    """(B, n, n_future, C, H, W) in [0, 1] (checked, clamped); deterministic models are sampled once and the sample
    is expanded to n (a view, no copy)."""
    want = (context.shape[0], n if model.stochastic else 1, n_future, *context.shape[2:])
    if not model.stochastic:
        return _check_pred(model.sample(context, audio, n_future, 1)[:, :1], want, model.name).expand(
            -1, n, -1, -1, -1, -1)
    chunk = chunk or n
    parts = [model.sample(context, audio, n_future, min(chunk, n - i)) for i in range(0, n, chunk)]
    return _check_pred(torch.cat(parts, 1), want, model.name)


def _check_pred(pred: torch.Tensor, want: tuple, model: str) -> torch.Tensor:
    if tuple(pred.shape) != want:
        raise ValueError(f"model {model}: sample() returned shape {tuple(pred.shape)}, expected {want} "
                         "(B, S, n_future, C, H, W)")
    if not torch.isfinite(pred).all():
        raise ValueError(f"model {model}: sample() returned non-finite values")
    return pred.float().clamp(0.0, 1.0)


# -- 3. score ------------------------------------------------------------------------------------------------------

def batch_truth(metas: list[dict], n_past: int, n_frames: int) -> Truth:
    """The ground truth of a batch's predicted frames for the metrics that need it, from each clip's ``meta``."""
    blocks = [_shown(m, n_frames).get("block") for m in metas]
    if not blocks or not all(blocks):
        return Truth(None)
    return Truth(torch.tensor([b["box"] for b in blocks]), max(0, blocks[0]["first_frame"] - n_past))


def _score(metrics: dict[str, Metric], model: VideoPredictor, pred: torch.Tensor, target: torch.Tensor,
           truth: Truth) -> dict[str, torch.Tensor]:
    """Every metric on every sample and frame: name -> (B, S, F) on the CPU (replicated samples scored once)."""
    S = pred.shape[1]
    scored = pred if model.stochastic else pred[:, :1]
    return {name: m.per_frame(scored, target, truth).cpu().expand(-1, S, -1) for name, m in metrics.items()}


def _summaries(full: dict[str, torch.Tensor], metrics: dict[str, Metric], protocols) -> dict[str, dict]:
    """protocol -> metric -> summary of the per-clip curves (``protocols.summarize``)."""
    return {p: {n: summarize(apply(p, full[n], m.higher_is_better), m.cap) for n, m in metrics.items()}
            for p in protocols}


@contextlib.contextmanager
def _threads(n: int):
    """Temporarily ``torch.set_num_threads(n)`` (n > 0). Metrics run as many small cache-sized operations; with
    OpenMP threads each pays a synchronisation, which stalls badly when other processes share the cores. One thread
    is the robust default; set ``eval.score_threads=0`` on a dedicated machine."""
    old = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def _timed(clock: dict[str, float], key: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        clock[key] += time.perf_counter() - t0


# -- 5. writers ----------------------------------------------------------------------------------------------------

class Writers:
    """``samples.h5``: each of the first ``save_samples`` clips' best sample (by mean ``select`` score over frames);
    ``grid.gif``: the first ``grid_clips`` clips side by side, labelled rows of ground truth, the best sample and
    (stochastic models) 3 random samples, the predicted frames marked (``s2sbench.eval.grid``)."""

    def __init__(self, model: str, data: Data, cfg: EvalConfig, plan: _Plan, stochastic: bool = True) -> None:
        self.samples = SampleWriter(model, data.name, cfg.split, plan.n_past, plan.n_future, str(data.root),
                                    min(cfg.save_samples, plan.n_clips))
        self.higher = plan.metrics[plan.select].higher_is_better
        self.n_past, self.grid_clips, self.stochastic = plan.n_past, cfg.grid_clips, stochastic
        self.grid: list[list[np.ndarray]] = []  # per clip: truth, best, samples; each (P + F, H, W, C) uint8
        self.gen = torch.Generator().manual_seed(cfg.seed)

    def add(self, batch: Batch, pred: torch.Tensor, target: torch.Tensor, select: torch.Tensor) -> None:
        mean = select.mean(2)  # (B, S) mean score over frames
        best = mean.argmax(1) if self.higher else mean.argmin(1)
        best_pred = pred[torch.arange(len(batch)), best]  # (B, F, C, H, W)
        self.samples.add(batch.ids, batch.index.tolist(), best_pred)
        for j in range(len(batch)):
            if len(self.grid) < self.grid_clips:
                pick = torch.randperm(pred.shape[1], generator=self.gen)[:3] if self.stochastic else []
                seen = batch.video[j, :self.n_past]
                videos = [torch.cat([seen, r]) for r in [target[j], best_pred[j], *pred[j, pick]]]
                self.grid.append([(v.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
                                  for v in videos])

    def save(self, out_dir: Path, fps: int) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.samples.save(out_dir / "samples.h5")
        if self.grid:
            from s2sbench.eval.grid import compose
            from s2sbench.media import write_video

            names = ["ground truth", "best sample" if self.stochastic else "prediction"]
            names += [f"sample {i}" for i in range(1, len(self.grid[0]) - 1)]
            rows = [(name, np.stack([clip[i] for clip in self.grid])) for i, name in enumerate(names)]
            write_video(out_dir / "grid.gif", compose(rows, self.n_past), fps, scale=2)
