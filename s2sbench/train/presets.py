"""Run presets: the model size, training schedule and evaluation size of ``s2sbench run --preset NAME``.

- ``smoke``: ``Config.tiny()`` (every model under 1 M parameters, clamped output where it has one), 30 steps of 8
  clips, 16 test clips x 10 samples: each model's run takes under a minute on 2 CPU cores. For checking that a model
  and the pipeline work, never for numbers (the runner says so). No learned metrics (LPIPS, FVD) unless
  ``--set eval.learned_metrics=true``; every other preset scores them (``EvalConfig.learned_metrics``).
- ``quick``: ``Config.quick()`` when the model defines it, else its paper config; at most 10 CPU minutes of training
  (``cpu_budget_min``: CPU time of the training process, all threads) or 3000 steps of 16 clips, whichever comes
  first; 100 test clips x 100 samples (best of 100, as the paper). Numbers from it are budget numbers, labelled with
  the preset.
- ``board``: the leaderboard's compute-matched budget (``leaderboard/README.md``): the ``quick`` model configs, every
  model trained for the same 15 CPU minutes in batches of 16 clips (no step cap since ``d1f4d8b``; before, 3000 steps,
  which only DDPAE reached, after about 7.5 minutes), validated every 50 steps and at the stop (the best validation
  checkpoint is evaluated), then 50 test clips x 100 samples. A CPU-time budget, not wall
  clock, so that other load on a shared machine does not change what a run gets. 15 minutes is the smallest budget
  of the compute-scaling curves (``leaderboard/scaling/``) at which a learned model beats every reference predictor
  under the paper's metric.
- ``board-5min``: the board before that (5 CPU minutes, otherwise ``board``), kept to reproduce the archived rows in
  ``leaderboard/archive/board-5min/`` (made under the name ``board``).
- ``paper``: the paper config and schedule (batch 110, 1001 epochs of 8000 clips = 72,072 steps, as the official
  M3SO-NB command), 1000 test clips x 100 samples (the paper's protocol). Needs a GPU to finish in reasonable time.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from s2sbench.eval.evaluate import EvalConfig
from s2sbench.registry import Registry
from s2sbench.train.budget import NO_STEP_CAP
from s2sbench.train.trainer import TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    model_config: str  # "tiny", "quick" or "paper": which constructor of the model's Config
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def model_config_for(self, model_cls: Any) -> Any:
        """The model's Config for this preset (``quick`` falls back to the paper config when not defined)."""
        cfg_cls = model_cls.Config
        if self.model_config == "tiny":
            return cfg_cls.tiny()
        if self.model_config == "quick" and hasattr(cfg_cls, "quick"):
            return cfg_cls.quick()
        return cfg_cls()


PRESETS: Registry[Preset] = Registry("preset")
for _p in (
    Preset("smoke", "tiny model, 30 steps, 16 test clips x 10 samples (< 1 min on a CPU; pipeline check only)",
           "tiny", TrainConfig(steps=30, batch_size=8, val_every=15, val_batches=1, checkpoint_every=15, log_every=5),
           EvalConfig(n_samples=10, n_clips=16, save_samples=16, diversity_clips=2, grid_clips=4)),
    Preset("quick", "quick/paper model, <= 10 CPU minutes or 3000 steps of 16, 100 test clips x 100 samples",
           "quick", TrainConfig(steps=3000, batch_size=16, cpu_budget_min=10.0, val_every=250, val_batches=4,
                                checkpoint_every=250),
           EvalConfig(n_samples=100, n_clips=100, save_samples=100, diversity_clips=5, learned_metrics=True)),
    Preset("board", "leaderboard budget: quick/paper model, 15 CPU minutes of batches of 16, 50 test clips x "
           "100 samples", "quick", TrainConfig(steps=NO_STEP_CAP, batch_size=16, cpu_budget_min=15.0, val_every=50,
                                               val_batches=2, checkpoint_every=50),
           EvalConfig(n_samples=100, n_clips=50, save_samples=50, diversity_clips=5, learned_metrics=True)),
    Preset("board-5min", "the archived 5-minute board: board at 5 CPU minutes", "quick",
           TrainConfig(steps=3000, batch_size=16, cpu_budget_min=5.0, val_every=50, val_batches=2, checkpoint_every=50),
           EvalConfig(n_samples=100, n_clips=50, save_samples=50, diversity_clips=5, learned_metrics=True)),
    Preset("paper", "paper model and schedule (72,072 steps of 110), 1000 test clips x 100 samples",
           "paper", TrainConfig(steps=72_072, batch_size=110, val_every=2000, val_batches=4, checkpoint_every=2000,
                                log_every=50),
           EvalConfig(n_samples=100, n_clips=1000, save_samples=100, diversity_clips=20, learned_metrics=True)),
):
    PRESETS.register(_p.name, _p)


def with_seed(preset: Preset, seed: int) -> Preset:
    return replace(preset, train=replace(preset.train, seed=seed), eval=replace(preset.eval, seed=seed))
