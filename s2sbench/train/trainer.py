"""``fit()``: the one training loop every model runs through.

- Device: ``cuda:LOCAL_RANK`` when CUDA is present, the CPU otherwise. On CUDA the forward pass runs under bf16
  autocast (``amp``; models call ``self.backward(loss)``, which runs the backward pass outside it), batches come
  from pinned memory with asynchronous copies, and ``compile`` (a ``torch.compile`` backend name, e.g.
  ``inductor``) compiles each top-level submodule.
- Multi-GPU: launched by ``torchrun``, one process per GPU (``s2sbench.train.distributed``: ``cpu:gloo,cuda:nccl``,
  each rank pinned to its GPU); each process trains on its shard of every step's batch (``s2sbench.train.batches``);
  rank 0's initial parameters and buffers are broadcast, models average gradients in ``optimizer_step``; only rank 0
  writes. The per-step flags (non-finite loss on any rank, rank 0's budget clock) are one all-reduce on the training
  device. Buffers are not synchronised after the broadcast: BatchNorm running statistics are each rank's own, and the
  checkpoints hold rank 0's.
- Step-based: ``steps`` optimisation steps of ``batch_size`` clips per process; epochs reshuffle with
  ``seed + epoch``, so the batch of any step is known without replaying the loader (this is what makes resume exact).
- ``OUT/last.pt`` every ``checkpoint_every`` steps (weights, optimisers, step, every rank's RNG states, best score)
  and ``resume=True`` continues from it exactly (same losses as an uninterrupted run, also under ``torchrun``); it is
  read onto the CPU and then copied to the training device, so a checkpoint moves between devices.
- Model selection on the **validation** split (``model.validation_step``, key ``select_on``, lower is better) every
  ``val_every`` steps, on rank 0 only (the other ranks neither build the validation batches nor wait for more than
  the result: an exception there stops every rank, ``distributed.share_error``); the best weights go to
  ``OUT/best.pt``. The test split is never read here.
- Logs: tqdm with the losses, ``OUT/train_log.csv`` and ``OUT/val_log.csv``, TensorBoard (``OUT/tb``) if installed.
- Budgets: ``time_budget_min`` (wall clock) and ``cpu_budget_min`` (``time.process_time`` of the training process,
  every thread counted: robust to other load on a shared machine, so runs stopped by it are compute-matched) stop
  training early with a final validation and checkpoint; the time used is stored in ``last.pt``, so a resumed run
  continues the same budget.
- A NaN/inf loss stops the run with ``TrainingError`` naming the step; the checkpoints on disk stay the last good ones.
- A model with ``trainable = False`` (the reference predictors) runs no steps: ``model.prepare(data_root)`` computes
  what it needs from the training split, and that model is ``best.pt`` (step 0).
"""
from __future__ import annotations

import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from s2sbench.data.loader import ClipDataset, collate
from s2sbench.errors import TrainingError
from s2sbench.models import VideoPredictor, save_checkpoint
from s2sbench.train import distributed
from s2sbench.train.batches import train_loader
from s2sbench.train.logs import CSVLog, tensorboard
from s2sbench.train.state import read_last, rng_state, seed_everything, set_rng_state

VAL_SPLITS = ("val", "valid", "validation")
__all__ = ["TrainConfig", "TrainingError", "fit", "validate", "find_val_split", "seed_everything", "autocast"]


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
    num_workers: int = -1  # DataLoader workers; -1: 0 on the CPU, on CUDA up to 8 (auto_workers)
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: str = ""  # a torch.compile backend ("inductor"; "aot_eager" to check tracing on a CPU); "" = eager
    seed: int = 0

    RANGES = {"steps": (1, None), "batch_size": (1, None), "time_budget_min": (0, None), "cpu_budget_min": (0, None),
              "val_every": (1, None), "val_batches": (0, None), "checkpoint_every": (1, None), "log_every": (1, None),
              "num_workers": (-1, None), "seed": (0, 2**63 - 1)}  # checked by s2sbench.config.from_dict


def auto_workers(cfg_workers: int, device: torch.device, world: int) -> int:
    """``cfg_workers`` if >= 0; else 0 on the CPU (loading shares the cores with training) and on CUDA
    ``min(8, usable CPUs / processes - 1)``: one process reads and featurises about 2-6 ms per clip, i.e. a batch of
    110 takes a few hundred ms, several times a paper-config step on a GPU."""
    if cfg_workers >= 0:
        return cfg_workers
    if device.type != "cuda":
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cpus // world - 1))


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on ``device`` (any device type, so the CPU runs the same code path) or nothing."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def compile_submodules(model: VideoPredictor, backend: str) -> None:
    """``torch.compile`` every top-level submodule of ``model`` in place (``training_step`` itself stays eager:
    it calls the optimisers and ``.item()``)."""
    for child in model.children():
        child.compile(backend=backend)


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


def _val_batches(data_root, split: str | None, cfg: TrainConfig, model: VideoPredictor, frames: int) -> list:
    if not split or cfg.val_batches <= 0:
        return []
    ds = ClipDataset(data_root, split, num_frames=frames, audio_features=model.spec.audio_feature)
    n, bs = min(len(ds), cfg.val_batches * cfg.batch_size), cfg.batch_size
    return [collate([ds[i] for i in range(j, min(j + bs, n))]) for j in range(0, n, bs)]


def _prepare_only(model: VideoPredictor, data_root, out: Path, cfg: TrainConfig, device: torch.device, rank: int,
                  world: int, extra: dict[str, Any]) -> dict[str, Any]:
    """``fit`` of a model with ``trainable = False``: ``prepare`` on the data, saved as ``best.pt`` at step 0."""
    t0, c0 = time.perf_counter(), time.process_time()
    note = model.prepare(data_root)
    best_path = out / "best.pt"
    if rank == 0:
        for stale in ("last.pt", "train_log.csv", "val_log.csv"):
            (out / stale).unlink(missing_ok=True)
        save_checkpoint(best_path, model, step=0, best=None, select_on="none (not trained)", **extra)
    return {"steps": 0, "steps_planned": 0, "resumed_from": None, "stopped": "not trained (trainable = False)",
            "best_step": 0, "select_on": None, "best_score": None, "val_split": None, "world_size": world,
            "device": str(device), "amp_bf16": False, "wall_time_s": round(time.perf_counter() - t0, 3),
            "cpu_time_s": round(time.process_time() - c0, 3), "checkpoint": str(best_path), "config": asdict(cfg),
            "prepared": note}


def fit(model: VideoPredictor, data_root: str | os.PathLike, out: str | os.PathLike, cfg: TrainConfig, *,
        device: torch.device | str | None = None, resume: bool = False, progress: bool = True,
        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``model`` on ``data_root``'s train split; returns a summary dict (also the RunResult's ``train``).

    ``extra`` is stored in both checkpoints (the runner records the dataset and preset there)."""
    extra = extra or {}
    from tqdm import tqdm

    rank, world, local = distributed.init()
    device = torch.device(device) if device is not None else distributed.device(local)
    out = Path(out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed + rank)
    model.to(device)
    if not getattr(model, "trainable", True):
        return _prepare_only(model, data_root, out, cfg, device, rank, world, extra)
    if world > 1:
        for t in model.state_dict().values():
            dist.broadcast(t, 0)
    opts = model.configure_optimizers()
    frames = model.spec.n_past + model.spec.n_future
    train_ds = ClipDataset(data_root, "train", num_frames=frames, audio_features=model.spec.audio_feature)
    steps_per_epoch = len(train_ds) // (cfg.batch_size * world)
    if steps_per_epoch == 0:
        raise TrainingError(f"{data_root}: the train split has {len(train_ds)} clips, fewer than one batch "
                            f"({cfg.batch_size} x {world} processes)")
    val_split = find_val_split(data_root)
    validating = bool(val_split) and cfg.val_batches > 0
    val_batches = _val_batches(data_root, val_split, cfg, model, frames) if rank == 0 else []
    start, best, best_step, used = 0, math.inf, -1, {"wall_s": 0.0, "cpu_s": 0.0}
    last, best_path = out / "last.pt", out / "best.pt"
    if resume and not last.exists():
        raise TrainingError(f"{last}: no checkpoint to resume from; drop --resume to start a new run")
    if resume:
        ck = read_last(last)  # onto the CPU, verified against its sha256
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
    logs = (CSVLog(out / "train_log.csv", keep), CSVLog(out / "val_log.csv", keep)) if rank == 0 else None
    tb = tensorboard(out) if rank == 0 else None
    model.setup_training(cfg.steps)
    model.train()
    if cfg.compile:
        compile_submodules(model, cfg.compile)
    amp, cuda = cfg.amp and device.type == "cuda", device.type == "cuda"
    t0, c0, step, stopped = time.perf_counter(), time.process_time(), start, "completed"

    def spent() -> dict[str, float]:
        return {"wall_s": used["wall_s"] + time.perf_counter() - t0, "cpu_s": used["cpu_s"] + time.process_time() - c0}
    bar = tqdm(total=cfg.steps, initial=start, disable=not progress or rank != 0, desc=f"train {model.name}",
               unit="step", dynamic_ncols=True)

    def save_last(step: int) -> None:
        states = distributed.gather_objects(rng_state())
        if rank == 0:
            save_checkpoint(last, model, optimizers=opts, step=step, best=best, best_step=best_step, rng=states,
                            budget_used=spent(), train_config=asdict(cfg), **extra)

    workers = auto_workers(cfg.num_workers, device, world)
    loader = iter(train_loader(train_ds, cfg.batch_size, start, cfg.steps, seed=cfg.seed, rank=rank, world=world,
                               num_workers=workers, pin_memory=cuda))
    while step < cfg.steps:
        epoch = step // steps_per_epoch
        batch = next(loader).to(device, non_blocking=cuda)
        with autocast(device, amp):
            out_logs = model.training_step(batch, opts, step)
        loss = float(out_logs["loss"])
        reason = _over_budget(cfg, spent()) if rank == 0 else ""
        flags = [0.0] * (world + 1)  # [non-finite loss on rank 0, on rank 1, ..., rank 0's budget says stop]
        flags[rank], flags[-1] = float(not math.isfinite(loss)), float(bool(reason))
        *bad, over = distributed.any_flags(flags, device)
        if any(bad):
            bar.close()
            kept = f"{last} (step {read_last(last)['step']})" if last.exists() else "none written yet"
            where = f"loss is {loss} (non-finite)" if world == 1 else "non-finite loss on rank " + ", ".join(
                str(r) for r, b in enumerate(bad) if b)
            raise TrainingError(f"step {step}: {where}; training stopped. Last good checkpoint: {kept}")
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
        if validating and (step % cfg.val_every == 0 or step == cfg.steps or over):
            err = None
            if rank == 0:
                try:
                    best, best_step = _validate_and_select(model, val_batches, device, cfg, step, best, best_step,
                                                           best_path, logs[1], tb, extra)
                except Exception as e:  # every rank stops with it (share_error), none waits for a timeout
                    err = e
            distributed.share_error(err)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps or over:
            save_last(step)
        if over:
            stopped = reason or "budget reached (rank 0)"
            break
    bar.close()
    del loader  # its workers end now
    if rank == 0 and not best_path.exists():  # no validation split: the last weights are the selected ones
        save_checkpoint(best_path, model, step=step, best=best, select_on="none (no validation split)", **extra)
    if tb:
        tb.close()
    total = spent()
    return {"steps": step, "steps_planned": cfg.steps, "resumed_from": start if resume else None,
            "stopped": stopped, "best_step": best_step, "select_on": cfg.select_on if validating else None,
            "best_score": best if math.isfinite(best) else None, "val_split": val_split, "world_size": world,
            "device": str(device), "amp_bf16": amp, "compile": cfg.compile or None, "num_workers": workers,
            "wall_time_s": round(total["wall_s"], 3), "cpu_time_s": round(total["cpu_s"], 3),
            "checkpoint": str(best_path), "config": asdict(cfg)}


def _validate_and_select(model, val_batches, device, cfg, step, best, best_step, best_path, log, tb, extra):
    """Rank 0: validate, keep ``best.pt`` when the ``select_on`` score improved, log; returns (best, best_step)."""
    scores = validate(model, val_batches, device)
    if cfg.select_on not in scores:
        raise TrainingError(f"validation_step of {model.name} returned {sorted(scores)}, "
                            f"no {cfg.select_on!r} to select on (set train.select_on)")
    improved = scores[cfg.select_on] < best
    if improved:
        best, best_step = scores[cfg.select_on], step
        save_checkpoint(best_path, model, step=step, best=best, select_on=cfg.select_on, **extra)
    log.write({"step": step, **scores, "best": int(improved)})
    if tb:
        for k, v in scores.items():
            tb.add_scalar(f"val/{k}", v, step)
    return best, best_step
