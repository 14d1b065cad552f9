"""The model contract: ``DataSpec`` (what a model knows about the data) and ``VideoPredictor`` (what the trainer and
the evaluator know about a model).

- ``configure_optimizers() -> dict[str, Optimizer]`` (one entry for simple models; GANs return several);
- ``training_step(batch, opt, step) -> dict[str, float]``: the model runs its own forward, backward and optimiser
  steps (so multi-optimiser GAN updates need no special case in the trainer) and returns scalar logs; the key
  ``"loss"`` is the number the trainer watches for NaN/inf and plots. A model calls ``opt.step()`` as usual: the
  trainer has made every optimiser it returned average gradients over the processes first under ``torchrun``
  (``s2sbench.train.distributed.averaging``), so no model can skip it. ``backward(loss)`` is what a model calls
  instead of ``loss.backward()`` (it leaves the trainer's autocast region);
- ``setup_training(total_steps)`` tells a model the run's length before step 0 (for scaled schedules);
- ``sample(context, audio, n_future, n_samples) -> (B, S, n_future, C, H, W)`` in [0, 1], where ``context`` is
  ``(B, n_past, C, H, W)`` and ``audio`` ``(B, n_past + n_future, F)`` covers the seen and the predicted frames
  (the future audio is the conditioning signal of the task). Deterministic models return S = 1 or repeat;
- ``prepare(data)``: for models that are not trained (``trainable = False``), statistics of the opened dataset.

The registry of models is ``s2sbench.models.MODELS``; checkpoints are ``s2sbench.train.checkpoint``; the validation
score the trainer selects on is ``s2sbench.eval.validation``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import torch
from torch import nn

from s2sbench.config import from_dict, to_dict
from s2sbench.data.loader import Batch

if TYPE_CHECKING:
    from s2sbench.data.handle import Data


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about the data: frame shape, per-frame audio feature size, the protocol."""

    channels: int
    height: int
    width: int
    audio_dim: int  # F of Batch.audio (B, T, F)
    audio_patch: tuple[int, int] | None  # (bins, steps) with bins * steps == audio_dim, for conv audio encoders
    n_past: int
    n_future: int  # predicted frames in training
    fps: int = 10
    audio_feature: str = "stft"

    @classmethod
    def for_dataset(cls, dataset: str, audio_feature: str = "stft") -> "DataSpec":
        """The DataSpec of a registered dataset (``s2sbench.data.datasets.DATASETS``) with the given audio feature."""
        from s2sbench.data.audio import audio_feature as make_feature
        from s2sbench.data.datasets import DATASETS

        info = DATASETS.get(dataset)
        feat = make_feature(audio_feature, info.spec)
        return cls(info.spec.channels, info.spec.height, info.spec.width, feat.dim, feat.patch, info.n_past,
                   info.n_future_train, info.spec.fps, audio_feature)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DataSpec":
        return from_dict(cls, d)


class VideoPredictor(nn.Module, ABC):
    """Base class of every model the harness runs. Subclasses set the class variables and ``Config``.

    ``Config`` is a dataclass whose defaults are the paper configuration; ``Config.tiny()`` (a classmethod)
    returns a small configuration for tests. The constructor is ``Model(spec: DataSpec, config: Config | None)``.
    """

    name: ClassVar[str] = ""
    uses_audio: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    reference: ClassVar[bool] = False  # a reference predictor (black, mean frame, copy-last), labelled in reports
    trainable: ClassVar[bool] = True  # False: the trainer runs no steps, calls prepare(data) and saves that
    cpu_bf16: ClassVar[bool] = False  # train.precision=auto trains it under bf16 on CPUs with native bf16 (measured
    # faster there, its learning test passing: benchmarks/bench_precision.py, docs/performance.md)
    val_samples: ClassVar[int] = 4  # samples per validation clip for stochastic models (best-of-K selection score)
    Config: ClassVar[type] = object

    def __init__(self, spec: DataSpec, config: Any = None) -> None:
        super().__init__()
        self.spec = spec
        self.config = config if config is not None else self.Config()

    @abstractmethod
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        ...

    @abstractmethod
    def training_step(self, batch: Batch, opt: dict[str, torch.optim.Optimizer], step: int) -> dict[str, float]:
        ...

    @abstractmethod
    def sample(self, context: torch.Tensor, audio: torch.Tensor, n_future: int, n_samples: int) -> torch.Tensor:
        ...

    def prepare(self, data: "Data") -> dict[str, Any]:
        """For ``trainable = False`` models: statistics of the opened dataset's training split, computed instead of
        training (e.g. the mean frame); returns a short summary for the run record."""
        return {}

    total_steps: int | None = None  # the run's planned steps (setup_training)
    progress: float | None = None  # the share of the run used, as the trainer last reported it (set_progress)

    def setup_training(self, total_steps: int) -> None:
        """Called once by the trainer before step 0 with the run's planned length."""
        self.total_steps = total_steps

    def set_progress(self, fraction: float) -> None:
        """Called by the trainer before every step with the share of the run used so far, in [0, 1]: the largest of
        steps / ``train.steps`` and the CPU and wall-clock budgets used (those that are set), the same on every rank.
        A schedule scaled to the run (Sound2Sight's gamma, DDPAE's learning-rate drop) follows it, so that it runs
        its whole course in a budget-stopped run."""
        self.progress = fraction

    def run_fraction(self, step: int) -> float | None:
        """The share of the run done at ``step`` for schedules: ``progress`` when the trainer reports it, else
        ``step / total_steps``, else None (no run length known)."""
        if self.progress is not None:
            return self.progress
        return step / self.total_steps if self.total_steps else None

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()`` outside the trainer's autocast region (the backward ops then run in the dtypes autocast
        chose for their forward ops, as PyTorch recommends). Models call this instead of ``loss.backward()``."""
        with torch.autocast(loss.device.type, enabled=False):
            loss.backward()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
