"""``s2sbench leaderboard run``: every (dataset, model, seed) of a board as one ``s2sbench run`` subprocess each.

Run directories are ``RUNS/<dataset>/<model>-<preset>-seed<seed>`` (the layout ``leaderboard build`` and
``tables`` read). A run whose ``result.json`` exists is skipped; one interrupted after a checkpoint is resumed from
its ``last.pt`` (CPU-time budgets carry over, see ``s2sbench.train.trainer``). Each run's output goes to
``RUN_DIR/run.log``; ``jobs`` runs execute at once, each with ``threads`` torch threads (default: cores // jobs).
Every dataset a pending run reads is opened first, once, in this process (``open_data``): a synthetic one missing at
its default location is generated here (parallel runs would each try, and all but one fail on its lock), and bad
data stops the board with its one-line error before any compute. Several boards may share a runs directory: a run
is claimed with ``RUN_DIR/.running`` (the process id; a claim whose process is gone on this machine is taken over),
and whether it is done is checked again just before it starts.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from s2sbench.report.results import RESULT_NAME


@dataclass(frozen=True)
class BoardRun:
    dataset: str
    model: str
    seed: int
    preset: str
    run_dir: Path

    sets: tuple[str, ...] = ()  # --set KEY=VALUE of every run (recorded in its config.toml and result.json)

    def command(self, threads: int, data: str | None = None, resume: bool = False) -> list[str]:
        cmd = [sys.executable, "-m", "s2sbench", "run", "--model", self.model, "--dataset", self.dataset,
               "--preset", self.preset, "--seed", str(self.seed), "--threads", str(threads), "--out",
               str(self.run_dir), "--quiet", *[a for s in self.sets for a in ("--set", s)]]
        return cmd + (["--data", data] if data else []) + (["--resume"] if resume else [])


def plan(runs_dir: str | os.PathLike, datasets: list[str], models: list[str], seeds: list[int],
         preset: str, sets: tuple[str, ...] = ()) -> list[BoardRun]:
    from s2sbench.data.datasets import DATASETS
    from s2sbench.models import MODELS
    from s2sbench.train.presets import PRESETS

    PRESETS.get(preset)  # unknown names fail here, with a did-you-mean
    for d in datasets:
        DATASETS.get(d)
    for m in models:
        MODELS.get(m)
    return [BoardRun(d, m, s, preset, Path(runs_dir) / d / f"{m}-{preset}-seed{s}", tuple(sets))
            for d in datasets for m in models for s in seeds]


CLAIM = ".running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(run_dir: Path) -> bool:
    """Atomically claim ``run_dir`` for this process; False if a live process holds it."""
    path = run_dir / CLAIM
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                return False
            path.unlink(missing_ok=True)  # stale claim: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def run_board(runs: list[BoardRun], *, jobs: int = 1, threads: int = 0, data: dict[str, str] | None = None,
              echo: Callable[[str], None] = print) -> list[BoardRun]:
    """Run what is not done yet; returns the runs that failed (their logs say why)."""
    from s2sbench.data.resolve import open_data

    threads = threads or max(1, (os.cpu_count() or 1) // max(1, jobs))
    todo = [r for r in runs if not (r.run_dir / RESULT_NAME).exists()]
    for ds in dict.fromkeys(r.dataset for r in todo):  # see the module docstring: opened once, before any run
        open_data(ds, (data or {}).get(ds), echo=echo)
    echo(f"{len(runs) - len(todo)} of {len(runs)} runs already done; running {len(todo)} "
         f"({jobs} at a time, {threads} torch thread(s) each)")
    failed: list[BoardRun] = []
    lock = threading.Lock()  # the jobs' threads report through one stream: one line each, none lost or interleaved

    def say(line: str) -> None:
        with lock:
            echo(line)

    def one(i: int, r: BoardRun) -> None:
        r.run_dir.mkdir(parents=True, exist_ok=True)
        if (r.run_dir / RESULT_NAME).exists() or not _claim(r.run_dir):
            say(f"[{i + 1}/{len(todo)}] {r.dataset} {r.model} seed {r.seed}: done or running elsewhere, skipped")
            return
        resume = (r.run_dir / "last.pt").exists()
        t0 = time.perf_counter()
        try:
            with open(r.run_dir / "run.log", "a") as log:
                code = subprocess.call(r.command(threads, (data or {}).get(r.dataset), resume), stdout=log,
                                       stderr=subprocess.STDOUT)
        finally:
            (r.run_dir / CLAIM).unlink(missing_ok=True)
        status = "done" if code == 0 else f"FAILED (exit {code}; see {r.run_dir / 'run.log'})"
        if code:
            failed.append(r)
        say(f"[{i + 1}/{len(todo)}] {r.dataset} {r.model} seed {r.seed}: {status} in "
            f"{time.perf_counter() - t0:.0f} s" + (" (resumed)" if resume else ""))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda a: one(*a), enumerate(todo)))
    return failed
