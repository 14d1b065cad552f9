"""The one place the "a user's work is sacred" policy lives (README "Safety").

- ``files``: atomic writes that keep the process umask (``atomic_target``, ``atomic_write_bytes``), writability checks.
- ``claims``: outputs are never replaced without ``--overwrite`` (``claim_files``, ``claim_run_dir``); a directory is
  locked while a process writes it (``DirLock``).
- ``inputs``: the data directory a command reads (auto-generated only at its default location, provenance and shard
  checks), devices, and the clip-count check.
- ``procs``: worker processes die with their parent.

Every refusal is an ``OutputError`` or ``InputError`` (``ValueError`` subclasses) whose message is one line naming
what, where and the fix; the CLI prints it as ``Error: ...`` and exits 1.
"""
from __future__ import annotations


class SafetyError(ValueError):
    """A refused action; the message is one line: what, where, how to fix it."""


class OutputError(SafetyError):
    """An output that exists (and would be replaced), is locked by another process, or cannot be written."""


class InputError(SafetyError):
    """Input data or an option that cannot be used as given."""
