"""Model selection data for the trainer: the first ``val_batches`` batches of the validation split, built once on
rank 0, and the score that rates a model on them (``ValScore``, handed in by the runner:
``s2sbench.eval.validation.val_scores``; the trainer keeps the checkpoint whose ``select_on`` key is lowest, a tie
going to the later checkpoint). A ``ValScore`` returns its keys in order of preference: ``select_on = "auto"``
selects on the first one, ``Validation.key`` says which.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from s2sbench.data.handle import Data
from s2sbench.data.loader import Batch, collate
from s2sbench.errors import TrainingError
from s2sbench.predictor import VideoPredictor

ValScore = Callable[[VideoPredictor, Batch], dict[str, float]]


@torch.no_grad()
def validate(model: VideoPredictor, batches: list, device: torch.device, score: ValScore) -> dict[str, float]:
    """Mean of ``score(model, batch)`` over the given validation batches."""
    model.eval()
    sums: dict[str, float] = {}
    for b in batches:
        for k, v in score(model, b.to(device)).items():
            sums[k] = sums.get(k, 0.0) + float(v)
    model.train()
    return {k: v / len(batches) for k, v in sums.items()}


class Validation:
    """Model selection data: the first ``val_batches`` batches of the validation split (built on rank 0 only) and the
    score that rates them; ``cfg`` is the run's ``TrainConfig``."""

    def __init__(self, model: VideoPredictor, data: Data, cfg: Any, rank: int, score: ValScore | None):
        self.model, self.cfg, self.score = model, cfg, score
        self.split = data.val_split() if score is not None else None
        self.on = bool(self.split) and cfg.val_batches > 0
        self.batches: list[Batch] = []
        self.key: str | None = None if cfg.select_on == "auto" else cfg.select_on  # the score selected on
        if self.on and rank == 0:
            ds = data.clips(self.split, model.spec.n_past + model.spec.n_future, model.spec.audio_feature)
            n, bs = min(len(ds), cfg.val_batches * cfg.batch_size), cfg.batch_size
            self.batches = [collate([ds[i] for i in range(j, min(j + bs, n))]) for j in range(0, n, bs)]

    def due(self, step: int, over: str) -> bool:
        return self.on and (step % self.cfg.val_every == 0 or step == self.cfg.steps or bool(over))

    def scores(self, device: torch.device) -> dict[str, float]:
        scores = validate(self.model, self.batches, device, self.score)
        if self.key is None:  # "auto": the score's first (preferred) key
            self.key = next(iter(scores))
        if self.key not in scores:
            raise TrainingError(f"the validation score of {self.model.name} has {sorted(scores)}, "
                                f"no {self.key!r} to select on (set train.select_on to one of them, or auto)")
        return scores
