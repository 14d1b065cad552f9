"""The model contract: ``DataSpec``, ``VideoPredictor``, the model registry and state-dict checkpoints.

Everything the trainer and the evaluator know about a model is this interface:

- ``configure_optimizers() -> dict[str, Optimizer]`` (one entry for simple models; GANs return several);
- ``training_step(batch, opt, step) -> dict[str, float]``: the model runs its own forward, backward and optimiser
  steps (so multi-optimiser GAN updates need no special case in the trainer) and returns scalar logs;
  the key ``"loss"`` is the number the trainer watches for NaN/inf and plots;
- ``backward(loss)`` and ``optimizer_step(opt)`` are what a model calls instead of ``loss.backward()`` (it leaves
  the trainer's autocast region) and ``opt.step()`` (it averages gradients under torchrun);
  ``setup_training(total_steps)`` tells a model the run's length before step 0 (for scaled schedules);
- ``sample(context, audio, n_future, n_samples) -> (B, S, n_future, C, H, W)`` in [0, 1], where ``context`` is
  ``(B, n_past, C, H, W)`` and ``audio`` ``(B, n_past + n_future, F)`` covers the seen and the predicted frames
  (the future audio is the conditioning signal of the task). Deterministic models return S = 1 or repeat.

Checkpoints are ``{"model": name, "config": {...}, "data_spec": {...}, "state_dict": ...}`` plus optional
optimiser state; ``load_checkpoint`` rebuilds the model by registry name, never by unpickling a module.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
import torch.distributed as dist
from torch import nn

from s2sbench.config import from_dict, to_dict
from s2sbench.data.loader import Batch
from s2sbench.registry import Registry
from s2sbench.safety.files import atomic_target

CHECKPOINT_FORMAT = 1

# name -> "module:Class". Adding a model: its file in baselines/ and one line here.
MODELS: Registry[type["VideoPredictor"]] = Registry("model", lazy={
    "copy_last": "s2sbench.baselines.copy_last:CopyLast",
    "constant_background": "s2sbench.baselines.constant_background:ConstantBackground",
    "mean_frame": "s2sbench.baselines.mean_frame:MeanFrame",
    "sound2sight": "s2sbench.baselines.sound2sight:Sound2Sight",
    "sound2sight_no_aa": "s2sbench.baselines.sound2sight_ablations:Sound2SightNoAA",
    "sound2sight_no_aa_md": "s2sbench.baselines.sound2sight_ablations:Sound2SightNoAAMD",
    "sound2sight_no_audio": "s2sbench.baselines.sound2sight_ablations:Sound2SightNoAudio",
    "sound2sight_lstm": "s2sbench.baselines.sound2sight_ablations:Sound2SightLSTM",
    "svg_lp": "s2sbench.baselines.svg_lp:SVGLP",
    "ddpae": "s2sbench.baselines.ddpae:DDPAE",
    "vougioukas": "s2sbench.baselines.vougioukas:Vougioukas",
    "vougioukas_multiframe": "s2sbench.baselines.vougioukas:VougioukasMultiFrame",
    "audio_only": "s2sbench.baselines.audio_only:AudioOnly",
})


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
    trainable: ClassVar[bool] = True  # False: the trainer runs no steps, calls prepare(data_root) and saves that
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

    def prepare(self, data_root: str | os.PathLike) -> dict[str, Any]:
        """For ``trainable = False`` models: statistics of ``data_root``'s training split, computed instead of
        training (e.g. the mean frame); returns a short summary for the run record."""
        return {}

    def setup_training(self, total_steps: int) -> None:
        """Called once by the trainer before step 0 with the run's length (for schedules scaled to it)."""

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()`` outside the trainer's autocast region (the backward ops then run in the dtypes autocast
        chose for their forward ops, as PyTorch recommends). Models call this instead of ``loss.backward()``."""
        with torch.autocast(loss.device.type, enabled=False):
            loss.backward()

    def optimizer_step(self, opt: torch.optim.Optimizer) -> None:
        """Step ``opt``; under ``torchrun`` first average its gradients over the processes (what DDP would do).

        Models call this instead of ``opt.step()`` so that multi-optimiser models need no DDP wrapper. Every trainable
        parameter of ``opt`` takes part in the one all-reduce, with a presence flag, so that the ranks agree on its
        shape even when a gradient is None on some of them; it stays None only where it is None on every rank.
        """
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            params = [p for g in opt.param_groups for p in g["params"] if p.requires_grad]
            if params:
                dev = params[0].device
                flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float()
                                  for p in params] + [torch.tensor([float(p.grad is not None) for p in params],
                                                                   device=dev)])
                dist.all_reduce(flat)
                flat /= dist.get_world_size()
                offset, present = 0, flat[-len(params):].tolist()
                for p, seen in zip(params, present):
                    part = flat[offset : offset + p.numel()].view_as(p)
                    offset += p.numel()
                    if seen > 0:
                        if p.grad is None:
                            p.grad = part.to(p.dtype).clone()
                        else:
                            p.grad.copy_(part)
        opt.step()

    val_samples = 4  # samples per validation clip for stochastic models (the K of the best-of-K selection score)

    @torch.no_grad()
    def validation_step(self, batch: Batch) -> dict[str, float]:
        """Model-selection scores on a validation batch, both lower-is-better:

        - ``val_ssim_loss`` (the trainer's default ``select_on``): 1 - ``ssim_paper`` under the paper's protocol, the
          best of ``val_samples`` samples per frame (one for deterministic models), averaged over frames and clips;
        - ``val_mse``: the MSE of the first sample. Selecting on it favours blurred, mean-like predictions, which the
          SSIM of the tables punishes (a grey background costs far more SSIM than a misplaced sharp digit)."""
        from s2sbench.eval.metrics import METRICS

        p = self.spec.n_past
        target = batch.video[:, p:]  # (B, n_future, C, H, W)
        k = self.val_samples if self.stochastic else 1
        pred = self.sample(batch.video[:, :p], batch.audio, target.shape[1], k).float().clamp(0, 1)  # (B, k, F, ...)
        ssim = METRICS.get("ssim_paper").per_frame(pred, target)  # (B, k, F)
        return {"val_ssim_loss": 1.0 - ssim.max(1).values.mean().item(),
                "val_mse": torch.mean((pred[:, 0] - target) ** 2).item()}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_model(name: str, spec: DataSpec, config: Mapping[str, Any] | Any | None = None) -> VideoPredictor:
    """Instantiate registered model ``name``; ``config`` is its Config, a dict of overrides, or None (paper)."""
    cls = MODELS.get(name)
    if isinstance(config, Mapping):
        config = from_dict(cls.Config, config) if dataclasses.is_dataclass(cls.Config) else config
    return cls(spec, config)


def payload_sha256(obj: Any) -> str:
    """sha256 of a checkpoint's contents: every tensor's dtype, shape and bytes and every other value's repr, walked
    in a fixed (sorted-key) order, so it does not depend on how torch lays out the file."""
    h = hashlib.sha256()

    def walk(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(x, Mapping):
            h.update(b"{")
            for k in sorted(x, key=repr):
                h.update(repr(k).encode())
                walk(x[k])
            h.update(b"}")
        elif isinstance(x, (list, tuple)):
            h.update(b"[")
            for v in x:
                walk(v)
            h.update(b"]")
        else:
            h.update(repr(x).encode())

    walk(obj)
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike, model: VideoPredictor, *,
                    optimizers: Mapping[str, torch.optim.Optimizer] | None = None, **extra: Any) -> Path:
    """Save a state-dict checkpoint atomically (temporary file, then rename) with ``sha256``, the
    ``payload_sha256`` of everything else in it (verified by ``read_checkpoint``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = to_dict(model.config) if dataclasses.is_dataclass(model.config) else {}
    ckpt = {"format": CHECKPOINT_FORMAT, "model": model.name, "config": cfg, "data_spec": model.spec.to_dict(),
            "state_dict": model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in (optimizers or {}).items()}, **extra}
    ckpt["sha256"] = payload_sha256(ckpt)
    with atomic_target(path) as tmp:
        torch.save(ckpt, tmp)
    return path


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and verify a checkpoint file: a missing, unreadable, foreign or corrupted one (its payload's sha256
    differs from the one recorded at save time) raises one clear ``ValueError`` / ``FileNotFoundError``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated / not a torch file
        raise ValueError(f"{path}: not a readable s2sbench checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        fmt = ckpt.get("format") if isinstance(ckpt, dict) else "?"
        raise ValueError(f"{path}: not an s2sbench checkpoint (format {fmt})")
    want = ckpt.pop("sha256", None)
    if want is None:
        warnings.warn(f"{path}: checkpoint has no checksum (written before checksums); loaded unverified",
                      stacklevel=2)
    elif payload_sha256(ckpt) != want:
        raise ValueError(f"{path}: checkpoint is corrupt (its contents' sha256 differs from the one recorded when it "
                         f"was saved); use another checkpoint or retrain")
    return ckpt


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> tuple[VideoPredictor, dict[str, Any]]:
    """Rebuild the model of a checkpoint by registry name and load its weights; returns (model, checkpoint dict)."""
    ckpt = read_checkpoint(path, map_location)
    spec = DataSpec.from_dict(ckpt["data_spec"])
    model = build_model(ckpt["model"], spec, ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(map_location), ckpt
