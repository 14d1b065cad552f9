"""Outputs are never replaced without an explicit flag, and a directory is written by one process at a time.

- ``claim_files``: files about to be written that already exist with other contents are refused unless
  ``overwrite`` (``--overwrite``); rewriting identical bytes is always allowed, so byte-stable rebuilds are free.
- ``claim_run_dir``: a run directory holding a checkpoint is resumed with ``--resume`` or replaced with
  ``--overwrite``, else refused naming both; ``--resume`` without ``last.pt`` is an error; a finished result
  (``result.json``) is replaced only with ``--overwrite``.
- ``DirLock``: an ``fcntl`` lock on ``DIR/.s2sbench.lock`` (which records the holder's pid) while a process writes
  ``DIR``; a second process is refused with one line. The kernel drops the lock when its holder dies, however it
  dies, so a stale lock file never blocks anyone.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Mapping

from s2sbench.safety import OutputError

LOCK_NAME = ".s2sbench.lock"
CHECKPOINTS = ("last.pt", "best.pt")
RESULT = "result.json"


def claim_files(files: Mapping[Path, bytes | None], overwrite: bool, flag: str = "--overwrite") -> None:
    """Refuse (``OutputError``) if any of ``files`` exists with contents other than the bytes to be written
    (``None``: contents unknown, any existing file counts), unless ``overwrite``."""
    if overwrite:
        return
    taken = []
    for p, data in files.items():
        p = Path(p)
        if p.exists() and (data is None or not p.is_file() or p.read_bytes() != data):
            taken.append(p)
    if taken:
        more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
        raise OutputError(f"{taken[0]}{more}: exists and would be replaced; pass {flag} to replace it, "
                          f"or choose another --out")


def claim_run_dir(run_dir: str | os.PathLike, *, resume: bool, overwrite: bool, training: bool = True) -> None:
    """The run-directory policy, checked before anything is computed (see the module docstring)."""
    d = Path(run_dir)
    if resume and overwrite:
        raise OutputError("--resume and --overwrite contradict each other; pass one of them")
    if resume and training and not (d / "last.pt").exists():
        raise OutputError(f"{d / 'last.pt'}: no checkpoint to resume from; drop --resume to start a new run")
    if resume and not training:
        raise OutputError("--resume continues training; it cannot be combined with --checkpoint")
    if resume or overwrite:
        return
    ckpts = [n for n in CHECKPOINTS if (d / n).exists()] if training else []
    if ckpts:
        raise OutputError(f"{d}: holds a checkpoint ({', '.join(ckpts)}) of an earlier run; pass --resume to "
                          f"continue it or --overwrite to start again (deletes it), or choose another --out")
    if (d / RESULT).exists():
        raise OutputError(f"{d / RESULT}: a finished result is there; pass --overwrite to replace it, "
                          f"or choose another --out")


class DirLock:
    """``with DirLock(dir, what):`` holds an exclusive lock on ``dir`` (created if missing); a second holder
    gets ``OutputError`` at once, naming the directory and the pid recorded by the first."""

    def __init__(self, directory: str | os.PathLike, what: str = "directory") -> None:
        self.dir, self.what, self.fd = Path(directory), what, -1

    def __enter__(self) -> "DirLock":
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise OutputError(f"{self.dir}: this {self.what} is in use by another s2sbench process (pid {holder}); "
                              f"wait for it to finish or stop it, or choose another directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, *_: object) -> None:
        if self.fd >= 0:
            try:
                os.ftruncate(self.fd, 0)
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
                os.close(self.fd)
                self.fd = -1
