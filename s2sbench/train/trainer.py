"""``fit()``: the one training loop every model runs through.

- Device: CUDA when present (bf16 autocast around ``training_step`` unless ``amp=False``), CPU otherwise.
- Multi-GPU: launched by ``torchrun``, each process trains on its ``DistributedSampler`` shard; rank 0's initial
  parameters and buffers are broadcast, models average gradients in ``optimizer_step``; only rank 0 writes.
- Step-based: ``steps`` optimisation steps of ``batch_size`` clips per process; epochs reshuffle with
  ``seed + epoch``, so the batch of any step is known without replaying the loader (this is what makes resume exact).
- ``OUT/last.pt`` every ``checkpoint_every`` steps (weights, optimisers, step, RNG states, best score) and
  ``resume=True`` continues from it exactly (same losses as an uninterrupted run on CPU).
- Model selection on the **validation** split (``model.validation_step``, key ``select_on``, lower is better) every
  ``val_every`` steps; the best weights go to ``OUT/best.pt``. The test split is never read here.
- Logs: tqdm with the losses, ``OUT/train_log.csv`` and ``OUT/val_log.csv``, TensorBoard (``OUT/tb``) if installed.
- Budgets: ``time_budget_min`` (wall clock) and ``cpu_budget_min`` (``time.process_time`` of the training process,
  every thread counted: robust to other load on a shared machine, so runs stopped by it are compute-matched) stop
  training early with a final validation and checkpoint; the time used is stored in ``last.pt``, so a resumed run
  continues the same budget.
- A NaN/inf loss stops the run with ``TrainingError`` naming the step; the checkpoints on disk stay the last good ones.
"""
from __future__ import annotations

import csv
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler

from s2sbench.data.loader import ClipDataset, collate
from s2sbench.models import VideoPredictor, read_checkpoint, save_checkpoint

VAL_SPLITS = ("val", "valid", "validation")


class TrainingError(RuntimeError):
    """Training cannot continue (non-finite loss, too little data); the message says what and where."""


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 16  # clips per process and step
    time_budget_min: float = 0.0  # > 0: stop (with a checkpoint) once training has used this many wall-clock minutes
    cpu_budget_min: float = 0.0  # > 0: stop once this process has used this many CPU minutes (all its threads)
    val_every: int = 500
    val_batches: int = 8  # the first val_batches batches of the validation split, every time
    select_on: str = "val_ssim_loss"  # key of model.validation_step used for model selection (lower is better)
    checkpoint_every: int = 500
    log_every: int = 10
    num_workers: int = 0
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    seed: int = 0

    RANGES = {"steps": (1, None), "batch_size": (1, None), "time_budget_min": (0, None), "cpu_budget_min": (0, None),
              "val_every": (1, None), "val_batches": (0, None), "checkpoint_every": (1, None), "log_every": (1, None),
              "num_workers": (0, None), "seed": (0, 2**63 - 1)}  # checked by s2sbench.config.from_dict


def _dist() -> tuple[int, int, int]:
    """(rank, world size, local rank); initialises the process group under torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    return 0, 1, 0


def default_device(local_rank: int = 0) -> torch.device:
    return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")


def rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
            "python": list(random.getstate()[1]) + [random.getstate()[0], random.getstate()[2]]}


def set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    kind, keys, pos, has_gauss, cached = s["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    py = s["python"]
    random.setstate((py[-2], tuple(py[:-2]), py[-1]))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _CSVLog:
    """Appends rows to a CSV whose header is fixed by the first row; on resume drops rows after ``keep_step``."""

    def __init__(self, path: Path, keep_step: int | None) -> None:
        self.path, self.fields = path, None
        if keep_step is not None and path.exists():
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            rows = [r for r in rows if int(r["step"]) <= keep_step]
            self.fields = list(rows[0].keys()) if rows else None
            with open(path, "w", newline="") as f:
                if self.fields:
                    w = csv.DictWriter(f, self.fields, lineterminator="\n")
                    w.writeheader()
                    w.writerows(rows)
        elif path.exists():
            path.unlink()

    def write(self, row: dict[str, Any]) -> None:
        new = self.fields is None
        if new:
            self.fields = list(row.keys())
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, self.fields, extrasaction="ignore", lineterminator="\n")
            if new:
                w.writeheader()
            w.writerow(row)


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: CSV logs only
        return None
    return SummaryWriter(str(out / "tb"))


def _loader(ds, cfg: TrainConfig, epoch: int, offset: int, rank: int, world: int) -> DataLoader:
    sampler = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed, drop_last=True)
    sampler.set_epoch(epoch)
    order = list(sampler)[offset * cfg.batch_size:]
    gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)  # worker seeds; never the global RNG
    return DataLoader(ds, batch_sampler=BatchSampler(order, cfg.batch_size, drop_last=True), collate_fn=collate,
                      num_workers=cfg.num_workers, generator=gen)


@torch.no_grad()
def validate(model: VideoPredictor, batches: list, device: torch.device) -> dict[str, float]:
    """Mean of ``model.validation_step`` over the given validation batches."""
    model.eval()
    sums: dict[str, float] = {}
    for b in batches:
        for k, v in model.validation_step(b.to(device)).items():
            sums[k] = sums.get(k, 0.0) + float(v)
    model.train()
    return {k: v / len(batches) for k, v in sums.items()}


def find_val_split(root: str | os.PathLike) -> str | None:
    from s2sbench.data.shards import ShardIndex

    splits = ShardIndex.load(root).splits()
    return next((s for s in VAL_SPLITS if s in splits), None)


def _over_budget(cfg: TrainConfig, spent: dict[str, float]) -> str:
    """Why training must stop now ("" while within every budget)."""
    if cfg.cpu_budget_min > 0 and spent["cpu_s"] > 60 * cfg.cpu_budget_min:
        return f"CPU budget of {cfg.cpu_budget_min:g} min reached"
    if cfg.time_budget_min > 0 and spent["wall_s"] > 60 * cfg.time_budget_min:
        return f"time budget of {cfg.time_budget_min:g} min reached"
    return ""


def fit(model: VideoPredictor, data_root: str | os.PathLike, out: str | os.PathLike, cfg: TrainConfig, *,
        device: torch.device | str | None = None, resume: bool = False, progress: bool = True,
        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``model`` on ``data_root``'s train split; returns a summary dict (also the RunResult's ``train``).

    ``extra`` is stored in both checkpoints (the runner records the dataset and preset there)."""
    extra = extra or {}
    from tqdm import tqdm

    rank, world, local = _dist()
    device = torch.device(device) if device is not None else default_device(local)
    out = Path(out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    spec = model.spec
    seed_everything(cfg.seed + rank)
    model.to(device)
    if world > 1:
        for t in model.state_dict().values():
            dist.broadcast(t, 0)
    opts = model.configure_optimizers()
    frames = spec.n_past + spec.n_future
    train_ds = ClipDataset(data_root, "train", num_frames=frames, audio_features=spec.audio_feature)
    steps_per_epoch = len(train_ds) // (cfg.batch_size * world)
    if steps_per_epoch == 0:
        raise TrainingError(f"{data_root}: the train split has {len(train_ds)} clips, fewer than one batch "
                            f"({cfg.batch_size} x {world} processes)")
    val_split = find_val_split(data_root)
    val_batches = []
    if val_split and cfg.val_batches > 0:
        val_ds = ClipDataset(data_root, val_split, num_frames=frames, audio_features=spec.audio_feature)
        n_val, bs = min(len(val_ds), cfg.val_batches * cfg.batch_size), cfg.batch_size
        val_batches = [collate([val_ds[i] for i in range(j, min(j + bs, n_val))]) for j in range(0, n_val, bs)]
    start, best, best_step, used = 0, math.inf, -1, {"wall_s": 0.0, "cpu_s": 0.0}
    last, best_path = out / "last.pt", out / "best.pt"
    if resume and not last.exists():
        raise TrainingError(f"{last}: no checkpoint to resume from; drop --resume to start a new run")
    if resume:
        ck = read_checkpoint(last, map_location=device)  # verified against its sha256
        model.load_state_dict(ck["state_dict"])
        for k, o in opts.items():
            o.load_state_dict(ck["optimizers"][k])
        start, best, best_step = ck["step"], ck["best"], ck["best_step"]
        used = {k: float(v) for k, v in ck.get("budget_used", used).items()}
        set_rng_state(ck["rng"][rank] if rank < len(ck["rng"]) else ck["rng"][0])
    elif rank == 0:  # a fresh run (the runner refuses to get here over a checkpoint without --overwrite)
        last.unlink(missing_ok=True)
        best_path.unlink(missing_ok=True)
    keep = start if resume else None
    logs = (_CSVLog(out / "train_log.csv", keep), _CSVLog(out / "val_log.csv", keep)) if rank == 0 else None
    tb = _tensorboard(out) if rank == 0 else None
    model.setup_training(cfg.steps)
    model.train()
    amp = cfg.amp and device.type == "cuda"
    t0, c0, step, stopped = time.perf_counter(), time.process_time(), start, "completed"

    def spent() -> dict[str, float]:
        return {"wall_s": used["wall_s"] + time.perf_counter() - t0, "cpu_s": used["cpu_s"] + time.process_time() - c0}
    bar = tqdm(total=cfg.steps, initial=start, disable=not progress or rank != 0, desc=f"train {model.name}",
               unit="step", dynamic_ncols=True)

    def save_last(step: int) -> None:
        states = [rng_state()]
        if world > 1:
            states = [None] * world
            dist.all_gather_object(states, rng_state())
        if rank == 0:
            save_checkpoint(last, model, optimizers=opts, step=step, best=best, best_step=best_step, rng=states,
                            budget_used=spent(), train_config=asdict(cfg), **extra)

    it = None
    while step < cfg.steps:
        epoch, offset = divmod(step, steps_per_epoch)
        if it is None or offset == 0:
            it = iter(_loader(train_ds, cfg, epoch, offset, rank, world))
        batch = next(it).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            out_logs = model.training_step(batch, opts, step)
        loss = float(out_logs["loss"])
        bad = torch.tensor([0.0 if math.isfinite(loss) else 1.0])
        if world > 1:
            dist.all_reduce(bad)
        if bad.item() > 0:
            bar.close()
            kept = (f"{last} (step {torch.load(last, weights_only=True)['step']})" if last.exists()
                    else "none written yet")
            where = "some rank" if world > 1 else "this run"
            raise TrainingError(f"step {step}: loss is {loss} (non-finite) on {where}; training stopped. "
                                f"Last good checkpoint: {kept}")
        step += 1
        if rank == 0:
            row = {"step": step, "epoch": epoch, "wall_s": round(time.perf_counter() - t0, 3),
                   **{k: float(v) for k, v in out_logs.items()}}
            logs[0].write(row)
            if tb:
                for k, v in out_logs.items():
                    tb.add_scalar(f"train/{k}", float(v), step)
            if step % cfg.log_every == 0 or step == cfg.steps:
                bar.set_postfix({k: f"{float(v):.4g}" for k, v in out_logs.items()})
        bar.update(1)
        reason = _over_budget(cfg, spent())
        over = torch.tensor([float(bool(reason))])
        if world > 1:
            dist.broadcast(over, 0)  # rank 0's clock decides for every rank
        if val_batches and (step % cfg.val_every == 0 or step == cfg.steps or over.item()):
            if rank == 0:
                scores = validate(model, val_batches, device)
                if cfg.select_on not in scores:
                    raise TrainingError(f"validation_step of {model.name} returned {sorted(scores)}, "
                                        f"no {cfg.select_on!r} to select on (set train.select_on)")
                improved = scores[cfg.select_on] < best
                if improved:
                    best, best_step = scores[cfg.select_on], step
                    save_checkpoint(best_path, model, step=step, best=best, select_on=cfg.select_on, **extra)
                logs[1].write({"step": step, **scores, "best": int(improved)})
                if tb:
                    for k, v in scores.items():
                        tb.add_scalar(f"val/{k}", v, step)
            if world > 1:
                dist.barrier()
        if step % cfg.checkpoint_every == 0 or step == cfg.steps or over.item():
            save_last(step)
        if over.item():
            stopped = reason or "budget reached (rank 0)"
            break
    bar.close()
    if rank == 0 and not best_path.exists():  # no validation split: the last weights are the selected ones
        save_checkpoint(best_path, model, step=step, best=best, select_on="none (no validation split)", **extra)
    if tb:
        tb.close()
    total = spent()
    return {"steps": step, "steps_planned": cfg.steps, "resumed_from": start if resume else None,
            "stopped": stopped, "best_step": best_step, "select_on": cfg.select_on if val_batches else None,
            "best_score": best if math.isfinite(best) else None, "val_split": val_split, "world_size": world,
            "device": str(device), "amp_bf16": amp, "wall_time_s": round(total["wall_s"], 3),
            "cpu_time_s": round(total["cpu_s"], 3),
            "checkpoint": str(best_path), "config": asdict(cfg)}
