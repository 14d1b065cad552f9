"""HDF5 shards and their ``index.json``: the one on-disk format every dataset source writes and ``ClipDataset`` reads.

Layout of a dataset directory::

    DIR/index.json             format version, ClipSpec, per-shard {file, split, n, bytes, sha256}, source config
    DIR/<split>-00000.h5       frames (N, T, H, W, C) uint8, one gzip chunk per clip
                               audio  (N, T * spf) int16 (waveform * 32767, rounded; never wraps)
                               ids    (N,) UTF-8 strings; meta (N,) UTF-8 JSON strings; attrs: spec, split, format

Every file is written under a temporary name, flushed, fsynced and renamed (``s2sbench.safety.files``), so an
interrupted run never leaves a partial shard or index under its final name. Shards carry no timestamps: the same
clips give byte-identical files.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import h5py
import numpy as np

from s2sbench.data.clip import Clip, ClipSpec
from s2sbench.errors import InputError
from s2sbench.safety.files import atomic_target, atomic_write_bytes  # noqa: F401 (re-exported)

FORMAT_VERSION = 1
INDEX_NAME = "index.json"
AUDIO_SCALE = 32767.0


class ShardError(InputError):
    """A missing, truncated, corrupt or inconsistent shard or index; the message names the file."""


@dataclass(frozen=True)
class ShardRecord:
    file: str
    split: str
    n: int
    bytes: int
    sha256: str


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def audio_to_int16(audio: np.ndarray) -> np.ndarray:
    return np.round(np.clip(audio, -1.0, 1.0) * AUDIO_SCALE).astype(np.int16)


def audio_from_int16(audio: np.ndarray) -> np.ndarray:
    return (audio.astype(np.float32) / np.float32(AUDIO_SCALE)).astype(np.float32)


def write_shard(path: str | os.PathLike, spec: ClipSpec, split: str, clips: Sequence[Clip],
                compression: str | None = "gzip", level: int = 4) -> ShardRecord:
    """Check every clip against ``spec`` and write them as one shard at ``path``, atomically."""
    path = Path(path)
    if not clips:
        raise ValueError(f"{path}: refusing to write an empty shard")
    for c in clips:
        c.check(spec)
    n, S = len(clips), spec.num_samples
    opts: dict[str, Any] = {"compression": compression, "track_times": False}
    if compression == "gzip":
        opts["compression_opts"] = level
    str_dt = h5py.string_dtype("utf-8")
    with atomic_target(path) as tmp, h5py.File(tmp, "w", track_order=False) as f:
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["split"] = split
        f.attrs["spec"] = json.dumps(spec.to_dict(), sort_keys=True)
        fr = f.create_dataset("frames", shape=(n, *spec.frame_shape), dtype=np.uint8,
                              chunks=(1, *spec.frame_shape), **opts)
        au = f.create_dataset("audio", shape=(n, S), dtype=np.int16, chunks=(1, S), **opts)
        for i, c in enumerate(clips):
            fr[i] = c.frames
            au[i] = audio_to_int16(c.audio)
        f.create_dataset("ids", data=np.array([c.id for c in clips], dtype=object), dtype=str_dt,
                         track_times=False)
        f.create_dataset("meta", data=np.array([json.dumps(c.meta, sort_keys=True) for c in clips],
                                               dtype=object), dtype=str_dt, track_times=False)
    return ShardRecord(file=path.name, split=split, n=n, bytes=path.stat().st_size, sha256=sha256_file(path))


def open_shard(path: str | os.PathLike, expected_bytes: int | None = None) -> h5py.File:
    """Open a shard read-only, turning a missing, truncated or corrupt file into one clear ``ShardError``."""
    path = Path(path)
    if not path.exists():
        raise ShardError(f"{path}: shard file is missing")
    size = path.stat().st_size
    if expected_bytes is not None and size != expected_bytes:
        raise ShardError(f"{path}: shard is {size} bytes but index.json says {expected_bytes} "
                         "(truncated or replaced; run `s2sbench verify`)")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ShardError(f"{path}: not a readable HDF5 shard ({e})") from None


@dataclass
class ShardIndex:
    """The contents of ``index.json``: the dataset's spec, its shards and how it was made."""

    spec: ClipSpec
    shards: list[ShardRecord] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def splits(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.shards:
            out[r.split] = out.get(r.split, 0) + r.n
        return out

    def shards_of(self, split: str) -> list[ShardRecord]:
        return [r for r in self.shards if r.split == split]

    def to_json(self) -> str:
        d = {"format_version": self.format_version, "spec": self.spec.to_dict(), "splits": self.splits(),
             "shards": [asdict(r) for r in self.shards], "source": self.source}
        return json.dumps(d, indent=2, sort_keys=True) + "\n"

    def digest(self) -> str:
        """sha256 of the canonical index: identifies the exact data a result was computed on."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def save(self, root: str | os.PathLike) -> Path:
        path = Path(root) / INDEX_NAME
        atomic_write_bytes(path, self.to_json().encode())
        return path

    @classmethod
    def load(cls, root: str | os.PathLike) -> "ShardIndex":
        path = Path(root) / INDEX_NAME
        if not path.exists():
            raise ShardError(f"{path}: no index.json here (is {Path(root)} a dataset directory?)")
        try:
            d = json.loads(path.read_text())
            if d.get("format_version") != FORMAT_VERSION:
                raise ShardError(f"{path}: format_version {d.get('format_version')!r}, "
                                 f"this s2sbench reads {FORMAT_VERSION}")
            return cls(spec=ClipSpec.from_dict(d["spec"]), shards=[ShardRecord(**r) for r in d["shards"]],
                       source=d.get("source", {}), format_version=d["format_version"])
        except ShardError:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise ShardError(f"{path}: malformed index ({type(e).__name__}: {e})") from None

    def verify(self, root: str | os.PathLike) -> list[str]:
        """Check every shard's presence, size, sha256, spec and shapes; return one line per problem found."""
        root, problems = Path(root), []
        spec = self.spec
        for r in self.shards:
            path = root / r.file
            try:
                with open_shard(path, r.bytes) as f:
                    if sha256_file(path) != r.sha256:
                        problems.append(f"{path}: sha256 mismatch (file changed or corrupt)")
                        continue
                    if json.loads(f.attrs["spec"]) != spec.to_dict():
                        problems.append(f"{path}: spec in shard differs from index.json")
                    if f.attrs["split"] != r.split:
                        problems.append(f"{path}: split {f.attrs['split']!r}, index says {r.split!r}")
                    want = {"frames": ((r.n, *spec.frame_shape), np.uint8),
                            "audio": ((r.n, spec.num_samples), np.int16),
                            "ids": ((r.n,), None), "meta": ((r.n,), None)}
                    for name, (shape, dtype) in want.items():
                        if name not in f:
                            problems.append(f"{path}: dataset {name!r} missing")
                        elif f[name].shape != shape or (dtype is not None and f[name].dtype != dtype):
                            problems.append(f"{path}: {name} is {f[name].dtype}{f[name].shape}, "
                                            f"expected {np.dtype(dtype) if dtype else 'str'}{shape}")
            except (ShardError, OSError, KeyError) as e:
                problems.append(str(e) if isinstance(e, ShardError) else f"{path}: {e}")
        return problems


class ShardWriter:
    """Streams clips of one split into numbered shards of ``clips_per_shard`` clips (for downloaders).

    ``ShardWriter(root, spec, "train")`` as a context manager; ``write(clip)``; ``records`` lists the shards written.
    The caller adds the records to a ``ShardIndex`` and saves it.
    """

    def __init__(self, root: str | os.PathLike, spec: ClipSpec, split: str, clips_per_shard: int = 256,
                 start_shard: int = 0, **shard_opts: Any) -> None:
        self.root, self.spec, self.split = Path(root), spec, split
        self.root.mkdir(parents=True, exist_ok=True)
        self.clips_per_shard, self.next_shard, self.shard_opts = clips_per_shard, start_shard, shard_opts
        self._buf: list[Clip] = []
        self.records: list[ShardRecord] = []

    def write(self, clip: Clip) -> None:
        self._buf.append(clip.check(self.spec))
        if len(self._buf) >= self.clips_per_shard:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            name = shard_name(self.split, self.next_shard)
            self.records.append(write_shard(self.root / name, self.spec, self.split, self._buf, **self.shard_opts))
            self.next_shard += 1
            self._buf = []

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, *_: object) -> None:
        if exc_type is None:
            self.flush()


def shard_name(split: str, k: int) -> str:
    return f"{split}-{k:05d}.h5"


def read_clips(f: h5py.File, rows: Iterable[int]) -> list[Clip]:
    """Read rows of an open shard back into ``Clip`` records."""
    out = []
    for i in rows:
        meta = f["meta"][i]
        out.append(Clip(id=f["ids"][i].decode() if isinstance(f["ids"][i], bytes) else str(f["ids"][i]),
                        frames=f["frames"][i], audio=audio_from_int16(f["audio"][i]),
                        meta=json.loads(meta.decode() if isinstance(meta, bytes) else meta)))
    return out


def summary(index: ShardIndex, root: str | os.PathLike) -> dict[str, Any]:
    """Counts, spec and sizes, for ``s2sbench info``."""
    root = Path(root)
    splits: dict[str, dict[str, int]] = {}
    for r in index.shards:
        s = splits.setdefault(r.split, {"clips": 0, "shards": 0, "bytes": 0})
        s["clips"] += r.n
        s["shards"] += 1
        s["bytes"] += r.bytes
    raw = index.spec.num_frames * index.spec.height * index.spec.width * index.spec.channels
    total = sum(r.bytes for r in index.shards)
    return {"root": str(root), "spec": index.spec.to_dict(), "splits": splits, "bytes": total,
            "raw_frame_bytes": raw * sum(r.n for r in index.shards), "source": index.source,
            "index_sha256": index.digest()}
