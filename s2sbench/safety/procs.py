"""Worker processes that die with their parent and leave Ctrl-C to it.

``worker_init`` is the ``initializer`` of every ``multiprocessing.Pool`` s2sbench starts: the worker ignores SIGINT
(the parent alone handles Ctrl-C, stops the pool and cleans up), and on Linux asks the kernel to SIGKILL it when the
parent dies (``prctl(PR_SET_PDEATHSIG)``), so a killed parent never leaves workers writing files. Elsewhere a
daemon thread polls the parent's pid instead.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            os._exit(1)


def worker_init(parent: int | None = None) -> None:
    """Run in each worker at start: ignore SIGINT, die with the parent (``parent``: its pid, default getppid())."""
    parent = parent if parent is not None else os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
