"""Ctrl-C at a safe point: ``with Interrupt(note) as stop:`` turns the first SIGINT into a request that the code
acts on between two units of work (``stop.requested``, or ``stop.check()`` which raises ``KeyboardInterrupt``).

A SIGINT that Python turns into ``KeyboardInterrupt`` at once may land inside a finaliser (an HDF5 file's, a
progress bar's, a process pool's), where Python prints "Exception ignored" and carries on; deferring it to a point
the code chooses makes Ctrl-C always stop, and lets the trainer save ``last.pt`` before it does. A second Ctrl-C
raises ``KeyboardInterrupt`` at once (the way out of a long unit of work). Outside the main thread, where no signal
handler can be set, the context does nothing.
"""
from __future__ import annotations

import signal
import sys
import threading


class Interrupt:
    """The first Ctrl-C sets ``requested`` (and prints ``note``); the second raises ``KeyboardInterrupt``."""

    def __init__(self, note: str = "") -> None:
        self.note, self.requested, self._old = note, False, None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.note:
            sys.stderr.write(f"\n{self.note} (Ctrl-C again to stop at once)\n")

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt

    def __enter__(self) -> "Interrupt":
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None
