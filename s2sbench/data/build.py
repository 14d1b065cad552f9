"""The driver every dataset generator runs its shard jobs through: claimed, locked, space-checked, interruptible
and resumable (README "Safety").

``build_shards(out, jobs, run_job, config=..., overwrite=...)``:

- ``out`` holding a finished dataset (``index.json``) is refused unless ``overwrite``; a directory holding anything
  else that is not an interrupted build of the same ``config`` is refused too (``--overwrite`` clears it first).
- The directory is locked (``safety.claims.DirLock``) for the whole build; free space is checked against
  ``estimate_bytes`` first.
- The build's ``config`` is written to ``out/.build.json``; after an interruption a rerun with the same config keeps
  every shard already under its final name (each is written atomically, so a final name means a finished shard)
  and makes only the rest: the result is byte-identical to an uninterrupted run.
- Worker processes ignore SIGINT and die with the parent (``safety.procs.worker_init``); Ctrl-C in the parent is
  acted on between two shards (``safety.interrupt.Interrupt``: never swallowed by a finaliser), and on Ctrl-C or any
  error the pool is stopped and its temporary files removed, so nothing half-written is left under a final name and
  the same command (or ``s2sbench run`` at the dataset's default location) resumes it.

The caller writes ``index.json`` from the returned records, then calls ``finish(out)``.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from s2sbench.data.shards import INDEX_NAME, ShardRecord, open_shard, sha256_file
from s2sbench.safety import OutputError
from s2sbench.safety.claims import LOCK_NAME
from s2sbench.safety.files import atomic_write_bytes, remove_temporaries
from s2sbench.safety.interrupt import Interrupt
from s2sbench.safety.procs import worker_init

BUILD_NAME = ".build.json"
SPACE_MARGIN = 1.2  # free space needed: the estimate times this, plus 64 MB


def check_space(out: Path, estimate_bytes: int) -> None:
    """Refuse a build that would not fit on the disk of ``out``."""
    free = shutil.disk_usage(out).free
    need = int(estimate_bytes * SPACE_MARGIN) + (64 << 20)
    if need > free:
        raise OutputError(f"{out}: the dataset needs about {estimate_bytes / 1e9:.1f} GB but the disk has "
                          f"{free / 1e9:.1f} GB free; make fewer clips or choose another --out")


def claim_out(out: Path, config: dict[str, Any], overwrite: bool) -> bool:
    """Apply the output policy; returns True when an interrupted build of the same config is resumed."""
    if (out / INDEX_NAME).exists() and not overwrite:
        raise OutputError(f"{out}: a dataset is already there ({INDEX_NAME}); pass --overwrite to replace it, or "
                          f"choose another --out")
    build = out / BUILD_NAME
    try:
        same = build.exists() and json.loads(build.read_text()) == config
    except ValueError:  # an unreadable build record: not a build of this config
        same = False
    others = [p for p in out.iterdir() if p.name not in (LOCK_NAME, BUILD_NAME)]
    if same and not overwrite and not (out / INDEX_NAME).exists():
        return True
    if others and not overwrite:
        what = "an interrupted build with other options" if build.exists() else f"{len(others)} other file(s)"
        raise OutputError(f"{out}: holds {what}; pass --overwrite to replace them, or choose another --out")
    (out / INDEX_NAME).unlink(missing_ok=True)  # the old index must not describe a half-rewritten directory
    atomic_write_bytes(build, (json.dumps(config, sort_keys=True) + "\n").encode())
    return False


def _finished(path: Path, job: Any) -> ShardRecord | None:
    """The record of a shard an earlier (interrupted) build finished, or None if it is not there or unreadable."""
    if not path.exists():
        return None
    try:
        with open_shard(path) as f:
            n = f["frames"].shape[0]
    except Exception:  # unreadable: made again
        return None
    if n != job.count:
        return None
    return ShardRecord(file=path.name, split=job.split, n=n, bytes=path.stat().st_size, sha256=sha256_file(path))


def build_shards(out: Path, jobs: Sequence[Any], run_job: Callable[[Any], tuple[Any, ShardRecord]], *,
                 shard_path: Callable[[Any], Path], config: dict[str, Any], overwrite: bool, workers: int,
                 estimate_bytes: int, progress: Callable[[int], None] | None = None) -> tuple[list[ShardRecord], int]:
    """Run ``jobs`` (objects with ``split``, ``count``) into ``out`` under the policy above; returns the records in
    job order and the number of shards resumed. Call inside ``with DirLock(out)``; ``estimate_bytes``: the whole
    dataset's expected size."""
    resumed = claim_out(out, config, overwrite)
    remove_temporaries(out)  # left by a build killed outright (SIGKILL): never under a final name
    done: dict[int, ShardRecord] = {}
    if resumed:
        for k, job in enumerate(jobs):
            rec = _finished(shard_path(job), job)
            if rec is not None:
                done[k] = rec
                if progress:
                    progress(job.count)
    todo = [(k, j) for k, j in enumerate(jobs) if k not in done]
    check_space(out, estimate_bytes * sum(j.count for _, j in todo) // max(1, sum(j.count for j in jobs)))
    pool = None
    try:
        with Interrupt("Ctrl-C: stopping after the shard(s) being written; rerun to resume") as stop:
            if workers == 1 or len(todo) <= 1:
                results: Iterable = ((k, run_job(j)) for k, j in todo)
            else:
                pool = multiprocessing.get_context().Pool(min(workers, len(todo)), initializer=worker_init,
                                                          initargs=(os.getpid(),))
                results = _polled(pool.imap_unordered(_indexed, [(run_job, k, j) for k, j in todo]), stop)
            for k, (job, rec) in results:
                done[k] = rec
                if progress:
                    progress(job.count)
                stop.check()
    except BaseException:
        if pool is not None:
            pool.terminate()
            pool.join()
            pool = None
        remove_temporaries(out)
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return [done[k] for k in range(len(jobs))], len(jobs) - len(todo)


def _polled(results, stop: Interrupt) -> Iterator:
    """The pool's results, waiting in short slices so that a Ctrl-C is acted on while no shard is finishing."""
    while True:
        try:
            yield results.next(timeout=0.2)
        except multiprocessing.TimeoutError:
            stop.check()
        except StopIteration:
            return


def _indexed(item: tuple[Callable, int, Any]) -> tuple[int, Any]:
    fn, k, job = item
    return k, fn(job)


def finish(out: Path) -> None:
    """The build is complete (index written and verified): drop its build record."""
    (out / BUILD_NAME).unlink(missing_ok=True)

