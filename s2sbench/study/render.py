"""``study create``: pick clips both runs generated, render each side of each pair as an MP4, write ``study.db``.

Each video is the clip's seen frames followed by one run's generated frames, enlarged (nearest neighbour) and
framed: seen frames get a blue border (``SEEN_RGB``), generated ones an orange one (``GENERATED_RGB``, which stands
out against grey outputs), so raters know where the prediction starts. The clip's own audio plays along (H.264
yuv420p + AAC through ``s2sbench.media.write_video``). Which run is shown on the left is drawn per pair and
recorded. Media names (``p0001-L.mp4``) do not reveal the run. The study is built in a temporary directory next to
``out`` and renamed into place when complete.
"""
from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from s2sbench.errors import ConfigError, InputError, OutputError
from s2sbench.safety.files import umask
from s2sbench.study import store
from s2sbench.study.runs import Run, common_indices, load_run

SEEN_RGB = (30, 136, 229)  # blue border: real frames the models saw
GENERATED_RGB = (240, 140, 0)  # orange border: generated frames (stands out against grey outputs)
TARGET_PX = 256  # frames are enlarged by an integer factor to about this size
AUDIO_RATE = 48000  # AAC at a rate every browser decodes


def framed(frames: np.ndarray, n_seen: int, scale: int, border: int) -> np.ndarray:
    """(T, H, W, C) uint8 -> (T, H*scale + 2*border, W*scale + 2*border, 3): enlarged and framed."""
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    big = frames.repeat(scale, axis=1).repeat(scale, axis=2)  # (T, H*s, W*s, 3)
    T, H, W, _ = big.shape
    out = np.empty((T, H + 2 * border, W + 2 * border, 3), np.uint8)
    out[:] = np.array(GENERATED_RGB, np.uint8)
    out[:n_seen] = np.array(SEEN_RGB, np.uint8)
    out[:, border:border + H, border:border + W] = big
    return out


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """``rgb`` (H, W, 3) uint8 as an 8-bit RGB PNG (no imaging library needed)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return path


def default_scale(height: int, width: int) -> int:
    return max(1, TARGET_PX // max(height, width))


def _resolve_root(run: Run, data_root: str | None) -> Path:
    if data_root:
        return Path(data_root)
    root = Path(run.result["data_root"])
    if root.is_absolute() or root.exists():
        return root
    return run.path / root if (run.path / root).exists() else root


def create_study(a_dir: str | Path, b_dir: str | Path, out: str | Path, n: int = 50, seed: int = 0,
                 data_root: str | None = None, scale: int | None = None, progress: bool = True) -> tuple[Path, str]:
    """Build the study directory ``out`` comparing runs A and B on ``n`` clips; return it and the admin token."""
    from tqdm import tqdm

    from s2sbench.data.loader import ClipDataset
    from s2sbench.media import write_video

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out}: already exists (choose a new --out; a study is never overwritten)")
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    a, b = load_run(a_dir), load_run(b_dir)
    both = common_indices(a, b)
    if len(both) < n:
        raise ConfigError(f"{a.path} and {b.path}: only {len(both)} clips are in both runs; use --n {len(both)} "
                          "or fewer")
    root = _resolve_root(a, data_root)
    ds = ClipDataset(root, a.result["split"], audio_features="raw")
    spec, n_past, n_future = ds.spec, int(a.result["n_past"]), int(a.result["n_future"])
    total = n_past + n_future
    if spec.num_frames < total:
        raise InputError(f"{root}: clips have {spec.num_frames} frames, the runs need {n_past} + {n_future}")
    if a.frame_shape[1:] != (spec.height, spec.width, spec.channels):
        raise InputError(f"{a.samples}: frames are {a.frame_shape[1:]}, the dataset's are "
                         f"{(spec.height, spec.width, spec.channels)}")
    rng = np.random.default_rng(seed)
    chosen = [both[i] for i in rng.choice(len(both), size=n, replace=False)]
    left_runs = ["A" if x == 0 else "B" for x in rng.integers(0, 2, size=n)]
    scale = scale or default_scale(spec.height, spec.width)
    border = 2 * scale

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        (tmp / store.MEDIA_DIR).mkdir()
        conn = store.connect(tmp / store.DB_NAME, create=True)
        store.init(conn, {
            "a": {"run": str(a.path.resolve()), "model": a.result["model"], "seed": a.result["seed"]},
            "b": {"run": str(b.path.resolve()), "model": b.result["model"], "seed": b.result["seed"]},
            "dataset": a.result["dataset"], "split": a.result["split"], "data_root": str(root),
            "n_past": n_past, "n_future": n_future, "fps": spec.fps, "n_pairs": n, "seed": seed,
            "scale": scale, "seen_rgb": list(SEEN_RGB), "generated_rgb": list(GENERATED_RGB),
            "created": store.now()})
        for pid, (index, left) in enumerate(tqdm(list(zip(chosen, left_runs)), desc="rendering pairs",
                                                 disable=not progress), start=1):
            clip = ds.clip(index)
            if clip.id != a.id_at(index):
                raise InputError(f"{a.samples}: clip index {index} is {a.id_at(index)!r}, but the dataset at "
                                 f"{root} has {clip.id!r} there (wrong data_root or split?)")
            audio = clip.audio[: total * spec.samples_per_frame]
            names = {}
            for side, run in (("L", a if left == "A" else b), ("R", b if left == "A" else a)):
                video = np.concatenate([clip.frames[:n_past], run.frames(index)])  # (total, H, W, C)
                names[side] = f"p{pid:04d}-{side}.mp4"
                shown = framed(video, n_past, scale, border)
                write_video(tmp / store.MEDIA_DIR / names[side], shown, spec.fps,
                            audio=audio, sample_rate=spec.sample_rate, audio_rate=AUDIO_RATE)
                write_png(tmp / store.MEDIA_DIR / f"p{pid:04d}-{side}.png", shown[n_past])  # the poster frame
            store.add_pair(conn, pid, clip.id, index, left, names["L"], names["R"])
        admin = store.set_admin_token(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700; keep the umask's mode
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, admin
