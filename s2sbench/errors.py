"""The project's error types. Each is something a user caused and can fix (an option, a file, the data, the machine);
the CLI prints it as one ``Error:`` line naming what, where and the fix. Any other exception is a bug and keeps its
traceback.

One base, ``S2SError``, and one subclass per kind of cause, so that callers catch by cause, not by module:

- ``ConfigError``: an option, preset, ``--set`` value or config file is invalid;
- ``InputError``: an input (data directory, checkpoint, run folder, media file) is missing, foreign or damaged;
- ``OutputError``: an output cannot be written (would replace finished work, locked, not writable);
- ``TrainingError``: training cannot continue (non-finite loss, too little data);
- ``ToolError``: an external program or service failed (ffmpeg, yt-dlp, the distributed backend, a missing extra).

The standard bases (``ValueError``, ``RuntimeError``) are kept beside ``S2SError`` so that library callers who
caught those still do.
"""
from __future__ import annotations


class S2SError(Exception):
    """Base of every error a user can fix; its message is one line: what, where, how to fix it."""


class ConfigError(S2SError, ValueError):
    """An option, preset, ``--set`` value or config file is invalid."""


class InputError(S2SError, ValueError):
    """An input (data directory, shard, checkpoint, run folder, media file) is missing, foreign or damaged."""


class OutputError(S2SError, ValueError):
    """An output cannot be written: it would replace finished work, is locked by another process, or is not
    writable."""


class TrainingError(S2SError, RuntimeError):
    """Training cannot continue (non-finite loss, too little data); the message says what and where."""


class ToolError(S2SError, RuntimeError):
    """An external program or service failed (ffmpeg, yt-dlp, the distributed backend, a missing optional extra)."""
