"""``fit()``: the one training loop every model runs through.

- Device: ``cuda:LOCAL_RANK`` when CUDA is present, the CPU otherwise. ``precision`` (``s2sbench.train.precision``)
  says whether the forward pass runs under bf16 autocast (models call ``self.backward(loss)``, which runs the
  backward pass outside it). On CUDA batches come from pinned memory with asynchronous copies, and ``compile`` (a
  ``torch.compile`` backend name, e.g. ``inductor``) compiles each top-level submodule.
- Multi-GPU: launched by ``torchrun``, one process per GPU (``s2sbench.train.distributed``: ``cpu:gloo,cuda:nccl``,
  each rank pinned to its GPU); each process trains on its shard of every step's batch (``s2sbench.train.batches``);
  rank 0's initial parameters and buffers are broadcast, and every optimiser the model returns averages gradients
  over the ranks in its ``step()`` (``distributed.averaging``: the model calls plain ``opt.step()`` and cannot skip
  it); only rank 0 writes. The per-step flags (non-finite loss on any rank, rank 0's budget clock) are one
  all-reduce on the training device. Buffers are not synchronised after the broadcast: BatchNorm running statistics
  are each rank's own, and the checkpoints hold rank 0's.
- Step-based: ``steps`` optimisation steps of ``batch_size`` clips per process; epochs reshuffle with
  ``seed + epoch``, so the batch of any step is known without replaying the loader (this is what makes resume exact).
- ``OUT/last.pt`` every ``checkpoint_every`` steps, every ``checkpoint_minutes`` (rank 0's clock), at the end and on
  Ctrl-C (weights, optimisers, step, every rank's RNG states, best score, budget used); ``resume=True`` continues
  from it exactly (same losses as an uninterrupted run, also under ``torchrun``), on any device.
- Ctrl-C (on any rank): the current step finishes, ``last.pt`` is saved at it and ``KeyboardInterrupt`` raised (the
  CLI exits 130); a second Ctrl-C stops at once (``s2sbench.safety.interrupt``).
- Model selection on the **validation** split (``val_score(model, batch)``, handed in by the runner:
  ``s2sbench.eval.validation.val_scores``; key ``select_on``, lower is better, ties to the later checkpoint;
  ``auto``: the score's preferred key) every ``val_every`` steps, on rank 0 only (the other ranks neither build
  the validation batches nor wait for more than the result: an exception there stops every rank,
  ``distributed.share_error``); the best weights go to ``OUT/best.pt``. The test split is never read here.
- Logs: a bar in the unit that stops the run, steps or budget minutes (``s2sbench.train.logs.Progress``; on a CPU a
  run timed at over ``SLOW_HOURS`` hours is warned about), ``OUT/train_log.csv``, ``OUT/val_log.csv``, ``OUT/tb``.
- Budgets (``s2sbench.train.budget``): ``time_budget_min`` (wall clock) and ``cpu_budget_min`` (CPU time of the
  training process) stop training early with a final validation and checkpoint; the time used is stored in
  ``last.pt``, so a resumed run continues the same budget. Before each step the model is told the share of the run
  used (``set_progress``: the largest of steps, CPU and wall budget), so schedules run their course in budget runs.
- A NaN/inf loss stops the run with ``TrainingError`` naming the step; the checkpoints on disk stay the last good ones.
- A model with ``trainable = False`` (the reference predictors) runs no steps: ``model.prepare(data)`` computes
  what it needs from the training split, and that model is ``best.pt`` (step 0).
- Data: the opened dataset (``s2sbench.data.handle.Data``), never a path. The summary (the RunResult's ``train``)
  has the same keys whatever the run did.
"""
from __future__ import annotations

import math
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from s2sbench.data.handle import Data
from s2sbench.errors import TrainingError
from s2sbench.predictor import VideoPredictor
from s2sbench.safety.interrupt import Interrupt
from s2sbench.train import distributed
from s2sbench.train.batches import train_loader
from s2sbench.train.budget import Budget
from s2sbench.train.checkpoint import save_checkpoint
from s2sbench.train.logs import CSVLog, Progress, tensorboard
from s2sbench.train.precision import cpu_bf16, use_bf16
from s2sbench.train.selection import Validation, ValScore, validate
from s2sbench.train.state import read_last, rng_state, seed_everything, set_rng_state

__all__ = ["TrainConfig", "TrainingError", "fit", "validate", "seed_everything", "autocast", "ValScore"]

INTERRUPTED, SLOW_HOURS = "interrupted (Ctrl-C)", 2.0  # SLOW_HOURS: a longer CPU run is warned about


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 16  # clips per process and step
    time_budget_min: float = 0.0  # > 0: stop (with a checkpoint) once training has used this many wall-clock minutes
    cpu_budget_min: float = 0.0  # > 0: stop once this process has used this many CPU minutes (all its threads)
    val_every: int = 500
    val_batches: int = 8  # the first val_batches batches of the validation split, every time
    select_on: str = "auto"  # key of the val_score dict to select on (lower is better); auto: its first key
    checkpoint_every: int = 500
    checkpoint_minutes: float = 5.0  # > 0: also save last.pt once this much wall clock passed since the last save
    log_every: int = 10
    num_workers: int = -1  # DataLoader workers; -1: 0 on the CPU, on CUDA up to 8 (auto_workers)
    precision: str = "auto"  # auto | fp32 | bf16: autocast of the training step (s2sbench.train.precision)
    compile: str = ""  # a torch.compile backend ("inductor"; "aot_eager" to check tracing on a CPU); "" = eager
    seed: int = 0

    RANGES = {"steps": (1, None), "batch_size": (1, None), "time_budget_min": (0, None), "cpu_budget_min": (0, None),
              "val_every": (1, None), "val_batches": (0, None), "checkpoint_every": (1, None),
              "checkpoint_minutes": (0, None), "log_every": (1, None),
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


def fit(model: VideoPredictor, data: Data, out: str | os.PathLike, cfg: TrainConfig, *,
        val_score: ValScore | None = None, device: torch.device | str | None = None, resume: bool = False,
        progress: bool = True, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``model`` on ``data``'s train split; returns the run's summary (also the RunResult's ``train``).

    ``val_score`` scores a validation batch for model selection (None: no selection, the last weights are
    ``best.pt``); ``extra`` is stored in both checkpoints (the runner records the dataset, preset and seed there)."""
    rank, world, local = distributed.init()
    device = torch.device(device) if device is not None else distributed.device(local)
    run = _Run(model, Path(out), cfg, device, rank, world, extra or {}, progress)
    seed_everything(cfg.seed + rank)
    model.to(device)
    if not model.trainable:
        return run.prepare_only(data)
    distributed.broadcast(model)
    run.opts = distributed.averaging(model.configure_optimizers())
    train = data.clips("train", model.spec.n_past + model.spec.n_future, model.spec.audio_feature)
    per_epoch = len(train) // (cfg.batch_size * world)
    if per_epoch == 0:
        raise TrainingError(f"{data.root}: the train split has {len(train)} clips, fewer than one batch "
                            f"({cfg.batch_size} x {world} processes)")
    run.validation = Validation(model, data, cfg, rank, val_score)
    start = run.begin(resume)  # from last.pt, or a fresh run; opens the logs
    model.setup_training(cfg.steps)
    model.train()
    if cfg.compile:
        compile_submodules(model, cfg.compile)
    cuda, amp = device.type == "cuda", use_bf16(cfg.precision, device, model)
    loader = iter(train_loader(train, cfg.batch_size, start, cfg.steps, seed=cfg.seed, rank=rank, world=world,
                               num_workers=run.workers, pin_memory=cuda))
    step, stopped, used = start, "completed", run.fraction(start)
    with Interrupt("Ctrl-C: saving last.pt after this step, then stopping") as stop:
        while step < cfg.steps:
            batch = next(loader).to(device, non_blocking=cuda)
            model.set_progress(used)
            with autocast(device, amp):
                logs = model.training_step(batch, run.opts, step)
            # raises on a non-finite loss; says whether to stop (budget, Ctrl-C), whether last.pt is due by time,
            # and the share of the run used (rank 0's clock, for the next step's schedules)
            over, due, used = run.check(step, float(logs["loss"]), stop.requested)
            step += 1
            run.log(step, (step - 1) // per_epoch, logs)
            if over == INTERRUPTED:
                run.save_last(step)
                run.interrupted(step)
            if run.validation.due(step, over):
                run.select(step)
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or over or due:
                run.save_last(step)
            if over:
                stopped = over
                break
    del loader  # its workers end now
    return run.finish(step, stopped, amp)


class _Run:
    """One ``fit`` call's state and its side effects: checkpoints, logs, the budget clock, the best score."""

    def __init__(self, model: VideoPredictor, out: Path, cfg: TrainConfig, device: torch.device, rank: int,
                 world: int, extra: dict[str, Any], progress: bool) -> None:
        self.model, self.out, self.cfg, self.device, self.rank, self.world = model, out, cfg, device, rank, world
        self.progress = progress and rank == 0
        self.extra, self.last, self.best_path = extra, out / "last.pt", out / "best.pt"
        self.opts: dict[str, torch.optim.Optimizer] = {}
        self.validation: Validation | None = None
        self.start, self.resumed, self.best, self.best_step = 0, False, math.inf, -1
        self.budget = Budget(cfg)
        self.workers = auto_workers(cfg.num_workers, device, world)
        self.logs: tuple[CSVLog, CSVLog] | None = None
        self.tb = self.bar = None
        self.saved_at = time.perf_counter()
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)

    def spent(self) -> dict[str, float]:
        return self.budget.spent()

    def fraction(self, step: int) -> float:
        return self.budget.fraction(step)

    def prepare_only(self, data: Data) -> dict[str, Any]:
        """A model with ``trainable = False``: ``prepare`` on the data, saved as ``best.pt`` at step 0."""
        note = self.model.prepare(data)
        if self.rank == 0:
            for stale in ("last.pt", "train_log.csv", "val_log.csv"):
                (self.out / stale).unlink(missing_ok=True)
            save_checkpoint(self.best_path, self.model, step=0, best=None, select_on="none (not trained)",
                            **self.extra)
        self.workers = 0
        return self.summary(0, 0, "not trained (trainable = False)", amp=False, prepared=note)

    def begin(self, resume: bool) -> int:
        """Continue from ``last.pt`` (weights, optimisers, step, best, budget, RNG) or start afresh; open the logs."""
        if resume and not self.last.exists():
            raise TrainingError(f"{self.last}: no checkpoint to resume from; drop --resume to start a new run")
        used = None  # budget used by earlier sittings of a resumed run
        if resume:
            ck = read_last(self.last)  # onto the CPU, verified against its sha256
            self.model.load_state_dict(ck["state_dict"])
            for k, o in self.opts.items():
                o.load_state_dict(ck["optimizers"][k])
            self.start, self.best, self.best_step, self.resumed = ck["step"], ck["best"], ck["best_step"], True
            used = ck.get("budget_used")
            set_rng_state(ck["rng"][self.rank] if self.rank < len(ck["rng"]) else ck["rng"][0])
        elif self.rank == 0:  # a fresh run (the runner refuses to get here over a checkpoint without --overwrite)
            self.last.unlink(missing_ok=True)
            self.best_path.unlink(missing_ok=True)
        if self.rank == 0:
            keep = self.start if resume else None
            self.logs = (CSVLog(self.out / "train_log.csv", keep), CSVLog(self.out / "val_log.csv", keep))
            self.tb = tensorboard(self.out)
        self.budget.restart(used)
        self.saved_at = self.budget.t0
        self.bar = Progress(self.cfg, self.start, self.spent(), f"train {self.model.name}", self.progress)
        return self.start

    def check(self, step: int, loss: float, interrupted: bool) -> tuple[str, bool, float]:
        """One all-reduce of the step's flags: a non-finite loss on any rank raises ``TrainingError``; returns why
        training stops now (rank 0's budget, Ctrl-C on any rank; "": it goes on), whether ``last.pt`` is due, and
        rank 0's ``fraction`` of the run used after this step (the schedules of the next one)."""
        reason = self.budget.over() if self.rank == 0 else ""
        due = self.rank == 0 and 0 < self.cfg.checkpoint_minutes * 60 <= time.perf_counter() - self.saved_at
        used = self.fraction(step + 1) if self.rank == 0 else 0.0  # the max over ranks is rank 0's
        # [non-finite loss on rank 0, 1, ..., budget says stop, Ctrl-C, last.pt due, share of the run used]
        flags = [0.0] * (self.world + 4)
        flags[self.rank] = float(not math.isfinite(loss))
        flags[-4:] = [float(bool(reason)), float(interrupted), float(due), used]
        *bad, over, stop, due, used = distributed.any_flags(flags, self.device)
        if any(bad):
            self.bar.close()
            kept = f"{self.last} (step {read_last(self.last)['step']})" if self.last.exists() else "none written yet"
            where = f"loss is {loss} (non-finite)" if self.world == 1 else "non-finite loss on rank " + ", ".join(
                str(r) for r, b in enumerate(bad) if b)
            raise TrainingError(f"step {step}: {where}; training stopped. Last good checkpoint: {kept}")
        if stop:
            return INTERRUPTED, bool(due), used
        return (reason or "budget reached (rank 0)") if over else "", bool(due), used

    def interrupted(self, step: int) -> None:
        """After Ctrl-C, with ``last.pt`` saved at ``step``: say how to continue, then stop (``KeyboardInterrupt``)."""
        self.bar.close()
        if self.rank == 0:
            sys.stderr.write(f"Interrupted at step {step} of {self.cfg.steps}: saved {self.last}; continue with the "
                             f"same command and --resume\n")
        raise KeyboardInterrupt

    def log(self, step: int, epoch: int, logs: dict[str, float]) -> None:
        """Rank 0: the step's logs to ``train_log.csv``, TensorBoard and the progress bar."""
        if self.rank == 0:
            self.logs[0].write({"step": step, "epoch": epoch, "wall_s": round(time.perf_counter() - self.budget.t0, 3),
                                **{k: float(v) for k, v in logs.items()}})
            if self.tb:
                for k, v in logs.items():
                    self.tb.add_scalar(f"train/{k}", float(v), step)
            spent = self.spent()
            self.bar.update(step, spent, logs if step % self.cfg.log_every == 0 or step == self.cfg.steps else None)
            if self.device.type == "cpu" and step - self.start == 2:  # the first step warms up; the second is timed
                self.bar.warn_if_slow(step, spent, SLOW_HOURS)

    def select(self, step: int) -> None:
        """Rank 0 validates and keeps ``best.pt`` when the ``select_on`` score improved; an error there stops every
        rank (``distributed.share_error``), none waits for a timeout."""
        err = None
        if self.rank == 0:
            try:
                scores = self.validation.scores(self.device)
                key = self.validation.key
                improved = scores[key] <= self.best  # a tie: the later checkpoint
                if improved:
                    self.best, self.best_step = scores[key], step
                    save_checkpoint(self.best_path, self.model, step=step, best=self.best, select_on=key, **self.extra)
                self.logs[1].write({"step": step, **scores, "best": int(improved)})
                if self.tb:
                    for k, v in scores.items():
                        self.tb.add_scalar(f"val/{k}", v, step)
            except Exception as e:  # noqa: BLE001 - raised on every rank by share_error
                err = e
        distributed.share_error(err)

    def save_last(self, step: int) -> None:
        """``last.pt``: weights, optimisers, step, best score, every rank's RNG states and the budget used."""
        states = distributed.gather_objects(rng_state())
        if self.rank == 0:
            save_checkpoint(self.last, self.model, optimizers=self.opts, step=step, best=self.best,
                            best_step=self.best_step, rng=states, budget_used=self.spent(),
                            train_config=asdict(self.cfg), **self.extra)
        self.saved_at = time.perf_counter()

    def finish(self, step: int, stopped: str, amp: bool) -> dict[str, Any]:
        """Close the logs; without validation the last weights are the selected ones (``best.pt``)."""
        self.bar.close()
        if self.rank == 0 and not self.best_path.exists():
            save_checkpoint(self.best_path, self.model, step=step, best=self.best,
                            select_on="none (no validation split)", **self.extra)
        if self.tb:
            self.tb.close()
        return self.summary(step, self.cfg.steps, stopped, amp=amp)

    def summary(self, steps: int, planned: int, stopped: str, *, amp: bool, prepared: dict | None = None
                ) -> dict[str, Any]:
        """The run's record (``RunResult.train``), the same keys for every run."""
        total, val = self.spent(), self.validation
        on = val is not None and val.on
        return {"steps": steps, "steps_planned": planned, "resumed_from": self.start if self.resumed else None,
                "stopped": stopped, "best_step": self.best_step if planned else 0,
                "select_on": (val.key or self.cfg.select_on) if on else None,
                "best_score": self.best if math.isfinite(self.best) else None, "val_split": val.split if val else None,
                "world_size": self.world, "device": str(self.device), "amp_bf16": amp, "precision": self.cfg.precision,
                "hardware": {"cpu_bf16": cpu_bf16()},
                "compile": (self.cfg.compile or None) if planned else None, "num_workers": self.workers,
                "wall_time_s": round(total["wall_s"], 3), "cpu_time_s": round(total["cpu_s"], 3),
                "checkpoint": str(self.best_path), "config": asdict(self.cfg), "prepared": prepared}
