"""Training state that is not weights: seeding, RNG snapshots for exact resume, reading ``last.pt`` back.

RNG states are CPU ``ByteTensor``s whatever device the run trained on (``torch.set_rng_state`` takes nothing
else); CUDA's is the state of this process's current device only, so a checkpoint moves between machines with
different GPU counts, and a CPU run resumes on a GPU machine (and back: the CUDA state is then ignored).
"""
from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

from s2sbench.train.checkpoint import read_checkpoint


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = [torch.cuda.get_rng_state()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda,
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
            "python": list(random.getstate()[1]) + [random.getstate()[0], random.getstate()[2]]}


def _bytes(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", torch.uint8)


def set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(_bytes(s["torch"]))
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state(_bytes(s["cuda"][0]))
    kind, keys, pos, has_gauss, cached = s["numpy"]
    np.random.set_state((kind, keys.cpu().numpy().astype(np.uint32), pos, has_gauss, cached))
    py = s["python"]
    random.setstate((py[-2], tuple(py[:-2]), py[-1]))


def read_last(path: str | os.PathLike) -> dict[str, Any]:
    """``last.pt`` loaded onto the CPU: ``load_state_dict`` of the model and of the optimisers copies each tensor
    to its parameter's device, and the RNG states stay CPU ByteTensors. Verified against its sha256
    (``s2sbench.train.checkpoint.read_checkpoint``)."""
    return read_checkpoint(path, map_location="cpu")
