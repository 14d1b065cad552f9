"""Best-of-N evaluation on a test split: sample, score every sample and frame, reduce by protocols -> ``RunResult``.

For each batch of clips the model sees the ``n_past`` ground-truth frames and the audio of the whole clip and
returns N samples of the ``n_future`` frames (``DatasetInfo.n_future_test``). Stochastic models are sampled N times;
deterministic ones once, and that sample stands for all N (recorded in ``RunResult.sampling``). Every registered
metric (unless ``eval.metrics`` restricts them) scores every sample and frame, and its definition version is
recorded; each protocol (``s2sbench.eval.protocols``) reduces them to per-clip curves that are averaged over clips. The first ``n_clips`` clips of the split are used, in order (the paper: the first 1000).

Also computed: block IoU on the final predicted frame when clips carry ``meta["block"]`` (M3SO), best-of-K curves,
mean pairwise SSIM among samples (and on Farneback flow for real datasets) for the first ``diversity_clips`` clips.
Written to ``out_dir``: ``samples.h5`` (the best sample by mean ``ssim_paper`` of the first ``save_samples`` clips,
see ``s2sbench.eval.samples``) and ``grid.gif`` (ground truth | best sample | random samples, first clips).
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

from s2sbench.data.datasets import DATASETS
from s2sbench.data.loader import ClipDataset, make_loader
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PROTOCOLS, apply, summarize
from s2sbench.models import VideoPredictor


@dataclass
class EvalConfig:
    split: str = "test"
    n_samples: int = 100
    n_clips: int = 0  # 0: every clip of the split
    protocols: tuple[str, ...] = ("best_per_frame", "best_sequence", "mean")
    metrics: tuple[str, ...] = ()  # () = every registered metric (METRICS, in registration order)
    batch_clips: int = 0  # clips per sampling batch; 0: as many as fit memory_mb
    sample_chunk: int = 0  # samples per model.sample call; 0: all N at once
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


@contextlib.contextmanager
def _threads(n: int):
    """Temporarily ``torch.set_num_threads(n)`` (n > 0). Metrics run as many small cache-sized operations; with
    OpenMP threads each pays a synchronisation, which stalls badly when other processes share the cores (measured on
    2 shared cores, load ~5: 0.28 s per clip of 100 x 20 frames with 1 thread, 29 s with 2). One thread is the
    robust default; set ``eval.score_threads=0`` on a dedicated machine."""
    old = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _batch_clips(cfg: EvalConfig, per_clip_bytes: int) -> int:
    return cfg.batch_clips or max(1, min(64, cfg.memory_mb * 2**20 // max(1, per_clip_bytes)))


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


def _truth(ds: ClipDataset, index: torch.Tensor, n_past: int, has_block: bool):
    """The ground truth of the clips ``index`` for the metrics that need it (``truth_metrics.Truth``)."""
    from s2sbench.eval.truth_metrics import Truth

    if not has_block:
        return Truth(None)
    metas = [ds.clip(int(i)).meta["block"] for i in index]
    return Truth(torch.tensor([m["box"] for m in metas]), max(0, metas[0]["first_frame"] - n_past))


def evaluate(model: VideoPredictor, data_root: str | os.PathLike, dataset: str, cfg: EvalConfig, *,
             device: torch.device | str = "cpu", out_dir: str | os.PathLike | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset`` at ``data_root``; returns the evaluation fields of a ``RunResult``."""
    from tqdm import tqdm

    from s2sbench.eval.block import block_iou
    from s2sbench.eval.diversity import FARNEBACK, best_of_k, flow_images, pairwise_curve, pairwise_matrix
    from s2sbench.eval.samples import SampleWriter

    t_start = time.perf_counter()
    info, device = DATASETS.get(dataset), torch.device(device)
    names = tuple(cfg.metrics) or tuple(METRICS.ordered())
    unknown = [p for p in cfg.protocols if p not in PROTOCOLS] + [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown protocol/metric {unknown}; known: {PROTOCOLS.keys()} / {METRICS.keys()}")
    ds = ClipDataset(data_root, cfg.split, num_frames=info.test_frames, audio_features=model.spec.audio_feature)
    s = model.spec
    if (ds.spec.channels, ds.spec.height, ds.spec.width) != (s.channels, s.height, s.width):
        raise ValueError(f"{data_root}: frames are {ds.spec.channels}x{ds.spec.height}x{ds.spec.width}, the model "
                         f"was built for {s.channels}x{s.height}x{s.width}")
    n_clips = min(len(ds), cfg.n_clips) if cfg.n_clips else len(ds)
    P, F, S = info.n_past, info.n_future_test, cfg.n_samples
    frame_bytes = s.channels * s.height * s.width * 4
    loader = make_loader(Subset(ds, range(n_clips)), _batch_clips(cfg, S * F * frame_bytes),
                         num_workers=cfg.num_workers)
    meta0 = ds.clip(0).meta if n_clips else {}
    block = meta0.get("block")
    has_block = bool(block) and block.get("first_frame", 0) < info.test_frames
    if not has_block:
        meta0 = {k: v for k, v in meta0.items() if k != "block"}
    lacking = [m for m in cfg.metrics if not METRICS.get(m).applies(meta0)]
    if lacking:
        raise ValueError(f"metric(s) {lacking} need ground truth that the clips of {data_root} lack (their meta has "
                         f"{sorted(meta0) or 'nothing'})")
    metrics = {m: METRICS.get(m) for m in names if METRICS.get(m).applies(meta0)}  # () = every one that applies
    needs_truth = any(m.truth for m in metrics.values())
    select = "ssim_paper" if "ssim_paper" in metrics else names[0]
    scores: dict[str, list[torch.Tensor]] = {m: [] for m in metrics}
    ious, pair_img, pair_flow, flow_best = [], [], [], []
    writer = SampleWriter(model.name, dataset, cfg.split, P, F, str(data_root), min(cfg.save_samples, n_clips))
    grid: list[np.ndarray] = []
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    t_sample = t_score = 0.0
    judge = getattr(model, "disc", None) is not None and callable(getattr(model, "fooling_rate", None))
    fooled = 0.0
    model.eval().to(device)
    bar = tqdm(total=n_clips, disable=not progress, desc=f"evaluate {model.name}", unit="clip", dynamic_ncols=True)
    for batch in loader:
        batch = batch.to(device)
        target = batch.video[:, P:]  # (B, F, C, H, W)
        t0 = time.perf_counter()
        with torch.no_grad():
            pred = _sample(model, batch.video[:, :P], batch.audio, F, S, cfg.sample_chunk)  # (B, S, F, C, H, W)
        t1 = time.perf_counter()
        scored = pred if model.stochastic else pred[:, :1]  # replicated samples score identically
        truth = _truth(ds, batch.index, P, has_block) if needs_truth else None
        with _threads(cfg.score_threads if device.type == "cpu" else 0):
            for name, m in metrics.items():
                scores[name].append(m.per_frame(scored, target, truth).cpu().expand(-1, S, -1))
            t_score += time.perf_counter() - t1
            if has_block:  # true box from the clip meta; block IoU on the final predicted frame
                boxes = np.array([ds.clip(int(i)).meta["block"]["box"] for i in batch.index])[:, None]  # (B, 1, 4)
                ious.append(torch.from_numpy(block_iou(scored[:, :, -1], boxes)).float().expand(-1, S))
            for j in range(len(batch)):
                if int(batch.index[j]) < cfg.diversity_clips and model.stochastic:
                    pair_img.append(pairwise_matrix(pred[j]))
                    if not info.synthetic:
                        fp, ft = flow_images(pred[j]), flow_images(target[j])  # (S, F-1, 2, H, W), (F-1, 2, H, W)
                        flow_best.append(METRICS.get("ssim_paper")(fp, ft.unsqueeze(0)).unsqueeze(0))
                        pair_flow.append(pairwise_matrix(fp))
        t_sample += t1 - t0
        if judge:  # one extra generated future per clip, judged by the model's own trained discriminator
            with torch.no_grad():
                fooled += model.fooling_rate(batch) * len(batch)
        best = scores[select][-1].mean(2).argmax(1)  # (B,) best sample by mean score over frames
        best_pred = pred[torch.arange(len(batch)), best]  # (B, F, C, H, W)
        writer.add(batch.ids, batch.index.tolist(), best_pred)
        for j in range(len(batch)):
            if len(grid) < cfg.grid_clips:
                pick = torch.randperm(S, generator=gen)[:3]
                rows = [target[j], best_pred[j], *pred[j, pick]]  # each (F, C, H, W); 1 px grey frame around
                panels = [torch.nn.functional.pad(torch.cat([batch.video[j, :P], r]), (1, 1, 1, 1), value=0.5)
                          for r in rows]
                grid.append(torch.cat(panels, -1).cpu().numpy())
        bar.update(len(batch))
    bar.close()
    full = {m: torch.cat(v) for m, v in scores.items()}  # (N, S, F)
    out: dict[str, Any] = {
        "split": cfg.split, "n_past": P, "n_future": F, "n_samples": S,
        "sampling": ("stochastic: N independent samples per clip" if model.stochastic
                     else "deterministic: sampled once, the sample replicated N times"),
        "protocols": list(cfg.protocols), "metrics": {n: m.record() for n, m in metrics.items()},
        "scores": {p: {n: summarize(apply(p, full[n], m.higher_is_better), m.cap) for n, m in metrics.items()}
                   for p in cfg.protocols},
        "clips_used": n_clips, "clips_available": len(ds), "table_frames": list(info.table_frames),
        "eval": {**asdict(cfg), "metrics": list(metrics), "sampling_s": round(t_sample, 3),
                 "scoring_s": round(t_score, 3)},
    }
    if judge and n_clips:
        out["fooling_rate"] = fooled / n_clips  # share of generated clips the discriminator calls real
    if ious:
        iou = torch.cat(ious)[:, :, None]  # (N, S, 1)
        out["block_iou"] = {p: float(apply(p, iou).mean()) for p in cfg.protocols}
    div: dict[str, Any] = {"best_of_k": {n: best_of_k(full[n], m.higher_is_better, m.cap)
                                         for n, m in metrics.items()}}
    if pair_img:
        div["pairwise_ssim_paper"] = pairwise_curve(torch.stack(pair_img))
        div["diversity_clips"] = len(pair_img)
    if flow_best:
        div["flow"] = {"method": "opencv farneback", "params": FARNEBACK,
                       "best_of_k_ssim_paper": best_of_k(torch.cat(flow_best)),
                       "pairwise_ssim_paper": pairwise_curve(torch.stack(pair_flow))}
    out["diversity"] = div
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        writer.save(out_dir / "samples.h5")
        if grid:
            from s2sbench.download.media import write_video
            frames = np.concatenate(grid, -2)  # (P + F, C, rows * H, 5 * W)
            u8 = (np.clip(frames, 0, 1) * 255).round().astype(np.uint8).transpose(0, 2, 3, 1)
            write_video(out_dir / "grid.gif", u8, info.spec.fps, scale=2)
    out["eval"]["wall_time_s"] = round(time.perf_counter() - t_start, 3)
    return out
