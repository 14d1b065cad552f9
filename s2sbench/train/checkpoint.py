"""State-dict checkpoints: ``{"format", "model", "config", "data_spec", "state_dict", "optimizers", ..., "sha256"}``.

``save_checkpoint`` writes atomically and records ``sha256``, the ``payload_sha256`` of everything else in it;
``read_checkpoint`` verifies it; ``load_checkpoint`` rebuilds the model by registry name (``s2sbench.models``),
never by unpickling a module, so a checkpoint loads on any device and in any checkout that has the model.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import torch

from s2sbench.config import to_dict
from s2sbench.errors import InputError
from s2sbench.predictor import DataSpec
from s2sbench.report.results import RESULT_NAME, RunResult
from s2sbench.safety.files import atomic_target

if TYPE_CHECKING:
    from s2sbench.predictor import VideoPredictor

CHECKPOINT_FORMAT = 1


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


def save_checkpoint(path: str | os.PathLike, model: "VideoPredictor", *,
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
    differs from the one recorded at save time) raises one ``InputError`` line naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found; pass the best.pt or last.pt of a run")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated / not a torch file
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise InputError(f"{path}: not a readable s2sbench checkpoint ({type(e).__name__}: {first}); use another "
                         f"checkpoint or retrain") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        fmt = ckpt.get("format") if isinstance(ckpt, dict) else "?"
        raise InputError(f"{path}: not an s2sbench checkpoint (format {fmt}, this s2sbench reads "
                         f"{CHECKPOINT_FORMAT}); pass the best.pt or last.pt of a run")
    want = ckpt.pop("sha256", None)
    if want is None:
        warnings.warn(f"{path}: checkpoint has no checksum (written before checksums); loaded unverified",
                      stacklevel=2)
    elif payload_sha256(ckpt) != want:
        raise InputError(f"{path}: checkpoint is corrupt (its contents' sha256 differs from the one recorded when it "
                         f"was saved); use another checkpoint or retrain")
    return ckpt


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> tuple["VideoPredictor", dict[str, Any]]:
    """Rebuild the model of a checkpoint by registry name and load its weights; returns (model, checkpoint dict)."""
    from s2sbench.models import build_model

    ckpt = read_checkpoint(path, map_location)
    model = build_model(ckpt["model"], DataSpec.from_dict(ckpt["data_spec"]), ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(map_location), ckpt


def training_of(checkpoint: Path, ck: dict) -> dict | None:
    """The training summary (``RunResult.train``) of the run that wrote ``checkpoint``: the one in the result.json
    beside it when that run saved this checkpoint (same model and seed, and the checkpoint's step is the run's
    ``best_step`` or its final step); else None (a checkpoint copied elsewhere, or one of a run that has not
    finished)."""
    if not (checkpoint.parent / RESULT_NAME).is_file():
        return None
    try:
        prev = RunResult.load(checkpoint.parent)
    except InputError:  # an unreadable result.json beside it: nothing to carry, the evaluation goes on
        return None
    train = prev.train or {}
    seed = (train.get("config") or {}).get("seed", prev.seed)
    same_run = (prev.model, seed) == (ck.get("model"), ck.get("seed", seed))
    return train if same_run and ck.get("step") in (train.get("best_step"), train.get("steps")) else None
