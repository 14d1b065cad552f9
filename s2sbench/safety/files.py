"""Atomic writes with the process umask: every file s2sbench writes goes through ``atomic_target``.

A file is written under a hidden temporary name in its final directory, flushed, fsynced, given the mode an
ordinary ``open()`` would give it (``0o666 & ~umask``: ``tempfile.mkstemp`` alone makes 0600, unreadable to the
other users of a shared machine) and renamed into place; on any exception (Ctrl-C included) the temporary file is
removed, so nothing half-written ever sits under a final name.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from s2sbench.safety import OutputError

TMP_SUFFIX = ".tmp"


def umask() -> int:
    """The process umask (read without changing it where the kernel reports it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 minus the umask (typically 0644)."""
    return 0o666 & ~umask()


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike, suffix: str = TMP_SUFFIX) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it, give it the umask's mode and rename it to
    ``path``; on failure remove it. ``suffix`` lets writers that go by the extension (ffmpeg, matplotlib) see it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the umask's mode."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)


def remove_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete the hidden temporary files ``atomic_target`` leaves when a process is killed outright (SIGKILL of a
    worker); returns them. Only names of the form ``.<name>.<random>.tmp`` are touched."""
    gone = []
    d = Path(directory)
    if d.is_dir():
        for p in d.iterdir():
            if p.name.startswith(".") and p.name.endswith(TMP_SUFFIX) and p.is_file():
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone


def check_writable(directory: str | os.PathLike, what: str = "--out") -> Path:
    """Create ``directory`` if needed and check a file can be made in it; else one-line ``OutputError``."""
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise OutputError(f"{d}: {what} exists and is not a directory; choose another {what}")
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError as e:
        raise OutputError(f"{d}: {what} is not writable ({e.strerror or e}); choose a writable {what}") from None
    return d
