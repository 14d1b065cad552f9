"""Reading the two run directories a study compares, as the evaluator writes them.

A run directory ``RUN`` holds ``RUN/result.json`` (at least model, dataset, split, data_root, n_past, n_future,
seed) and ``RUN/samples.h5``: ``ids`` (N,) UTF-8, ``index`` (N,) int64 clip indices into the split, ``frames``
(N, n_future, H, W, C) uint8 (the model's best sample per clip) and attrs model/dataset/split/n_past/n_future.
Every problem is one ``InputError`` naming the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from s2sbench.errors import InputError

RESULT_KEYS = ("model", "dataset", "split", "data_root", "n_past", "n_future", "seed")
SAMPLE_ATTRS = ("model", "dataset", "split", "n_past", "n_future")


@dataclass
class Run:
    """One model's generated test clips: ``rows`` maps a dataset clip index to its row in ``samples.h5``."""

    path: Path
    result: dict[str, Any]
    ids: list[str]
    rows: dict[int, int]
    frame_shape: tuple[int, ...]  # (n_future, H, W, C)

    @property
    def samples(self) -> Path:
        return self.path / "samples.h5"

    def id_at(self, index: int) -> str:
        return self.ids[self.rows[index]]

    def frames(self, index: int) -> np.ndarray:
        """The generated frames (n_future, H, W, C) uint8 for dataset clip ``index``."""
        import h5py

        with h5py.File(self.samples, "r") as f:
            return np.asarray(f["frames"][self.rows[index]])


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def load_run(path: str | Path) -> Run:
    """Read and check ``RUN/result.json`` and ``RUN/samples.h5`` (the frames themselves are read on demand)."""
    import h5py

    path = Path(path)
    rj = path / "result.json"
    if not rj.is_file():
        raise InputError(f"{rj}: missing (is {path} a run directory written by the evaluator?)")
    try:
        result = json.loads(rj.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{rj}: not readable JSON ({e})") from None
    missing = [k for k in RESULT_KEYS if not isinstance(result, dict) or k not in result]
    if missing:
        raise InputError(f"{rj}: missing keys {', '.join(missing)}")
    sh = path / "samples.h5"
    if not sh.is_file():
        raise InputError(f"{sh}: missing (the evaluator writes the best sample per clip there)")
    try:
        with h5py.File(sh, "r") as f:
            absent = [k for k in ("ids", "index", "frames") if k not in f]
            if absent:
                raise InputError(f"{sh}: datasets {', '.join(absent)} missing")
            ids = [_text(v) for v in f["ids"][()]]
            index = np.asarray(f["index"][()])
            shape, dtype = f["frames"].shape, f["frames"].dtype
            attrs = {k: _text(f.attrs[k]) for k in SAMPLE_ATTRS if k in f.attrs}
    except OSError as e:
        raise InputError(f"{sh}: not a readable HDF5 file ({e})") from None
    n = len(ids)
    if index.shape != (n,) or not np.issubdtype(index.dtype, np.integer):
        raise InputError(f"{sh}: index is {index.dtype}{index.shape}, expected int64 ({n},) like ids")
    if len(shape) != 5 or shape[0] != n or dtype != np.uint8 or shape[-1] not in (1, 3):
        raise InputError(f"{sh}: frames are {dtype}{shape}, expected uint8 ({n}, n_future, H, W, 1|3)")
    if shape[1] != int(result["n_future"]):
        raise InputError(f"{sh}: frames hold {shape[1]} future frames, result.json says n_future "
                         f"{result['n_future']}")
    for k, v in attrs.items():
        if v != str(result[k]):
            raise InputError(f"{sh}: attribute {k}={v!r} disagrees with result.json ({result[k]!r})")
    if len(set(index.tolist())) != n:
        raise InputError(f"{sh}: index has repeated clip indices")
    return Run(path, result, ids, {int(i): r for r, i in enumerate(index.tolist())}, tuple(shape[1:]))


def common_indices(a: Run, b: Run) -> list[int]:
    """Dataset clip indices both runs generated, after checking the runs are comparable."""
    for k in ("dataset", "split", "n_past", "n_future"):
        if str(a.result[k]) != str(b.result[k]):
            raise InputError(f"{a.path} and {b.path}: different {k} ({a.result[k]!r} vs {b.result[k]!r}); "
                             "a study compares two models on the same clips")
    if a.frame_shape != b.frame_shape:
        raise InputError(f"{a.samples} and {b.samples}: frames {a.frame_shape} vs {b.frame_shape}")
    both = sorted(set(a.rows) & set(b.rows))
    for i in both:
        if a.id_at(i) != b.id_at(i):
            raise InputError(f"{a.samples} and {b.samples}: clip index {i} is {a.id_at(i)!r} in one and "
                             f"{b.id_at(i)!r} in the other")
    return both
