"""Fixtures for the study tests: a tiny M3SO-NB-shaped dataset and two run directories that follow the
evaluator's contract (``RUN/result.json`` + ``RUN/samples.h5``), and ways to make studies from them."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from s2sbench.data.clip import Clip
from s2sbench.data.datasets import DATASETS
from s2sbench.data.shards import ShardIndex, ShardWriter

N_PAST, N_FUTURE = 5, 20
ROOT = Path(__file__).resolve().parents[1]


def make_dataset(root: Path, n_clips: int = 8, split: str = "test") -> None:
    """``n_clips`` clips of a bright square moving over dark noise, each with its own tone."""
    spec = DATASETS.get("m3so-nb").spec
    rng = np.random.default_rng(1)
    t = np.arange(spec.num_samples, dtype=np.float32) / spec.sample_rate
    with ShardWriter(root, spec, split, clips_per_shard=4) as w:
        for i in range(n_clips):
            frames = rng.integers(0, 40, size=spec.frame_shape, dtype=np.uint8)
            for f in range(spec.num_frames):
                x = (3 + 2 * f + 5 * i) % (spec.width - 12)
                frames[f, 18:30, x:x + 12] = 230
            audio = (0.4 * np.sin(2 * np.pi * (220 + 40 * i) * t)).astype(np.float32)
            w.write(Clip(f"clip{i:03d}", frames, audio))
    ShardIndex(spec, w.records, source={"fixture": "study tests"}).save(root)


def make_run(run: Path, model: str, data_root: Path, indices: list[int], value: int, split: str = "test") -> None:
    """A run directory whose generated frames for clip ``i`` are a flat grey ``value`` (so A and B differ)."""
    run.mkdir(parents=True)
    (run / "result.json").write_text(json.dumps({
        "model": model, "dataset": "m3so-nb", "split": split, "data_root": str(data_root), "n_past": N_PAST,
        "n_future": N_FUTURE, "seed": 0, "metrics": {}}))
    with h5py.File(run / "samples.h5", "w") as f:
        f.create_dataset("ids", data=np.array([f"clip{i:03d}" for i in indices], dtype=object),
                         dtype=h5py.string_dtype("utf-8"))
        f.create_dataset("index", data=np.array(indices, dtype=np.int64))
        f.create_dataset("frames", data=np.full((len(indices), N_FUTURE, 48, 48, 1), value, np.uint8))
        f.attrs.update({"model": model, "dataset": "m3so-nb", "split": split, "n_past": N_PAST,
                        "n_future": N_FUTURE, "data_root": str(data_root)})


def make_runs(tmp: Path) -> tuple[Path, Path, Path]:
    """Dataset (8 clips) and runs A (all clips, grey 200) and B (clips 1..7 in another order, grey 60)."""
    data = tmp / "data"
    make_dataset(data)
    make_run(tmp / "run_a", "model-a", data, list(range(8)), 200)
    make_run(tmp / "run_b", "model-b", data, [7, 3, 1, 2, 6, 5, 4], 120)
    return data, tmp / "run_a", tmp / "run_b"


def bare_study(path: Path, n_pairs: int, left: str = "AB", fps: int = 10) -> Path:
    """A study database without media (enough for voting and tally tests); pair i shows run left[i % 2] left;
    a clip lasts (N_PAST + N_FUTURE) / fps seconds."""
    from s2sbench.study import store

    path.mkdir(parents=True)
    conn = store.connect(path / store.DB_NAME, create=True)
    store.init(conn, {"a": {"run": "ra", "model": "model-a", "seed": 0}, "b": {"run": "rb", "model": "model-b",
                      "seed": 0}, "dataset": "m3so-nb", "split": "test", "data_root": "d", "n_past": N_PAST,
                      "n_future": N_FUTURE, "fps": fps, "n_pairs": n_pairs, "seed": 0, "scale": 5,
                      "seen_rgb": [30, 136, 229], "created": store.now()})
    for i in range(1, n_pairs + 1):
        store.add_pair(conn, i, f"clip{i:03d}", i, left[i % len(left)], f"p{i:04d}-L.mp4", f"p{i:04d}-R.mp4")
    conn.close()
    return path


class Server:
    """``s2sbench study serve STUDY --port 0 [ARGS]`` in a subprocess; ``url`` is read from its first line."""

    def __init__(self, study: Path, log: Path, *args: str):
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.log = open(log, "w+b")
        cmd = [sys.executable, "-m", "s2sbench", "study", "serve", str(study), "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=ROOT)
        line = self.proc.stdout.readline().decode()
        if " at http://" not in line:
            self.stop()
            self.log.seek(0)
            raise RuntimeError(f"server did not start: {line!r} {self.log.read().decode()!r}")
        self.url = line.split(" at ")[1].split()[0].rstrip("/")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc.stdout.close()
        self.log.close()


def wait_until(cond, timeout: float = 10.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()
