"""The one place the "a user's work is sacred" policy lives (docs/design.md, safety).

- ``files``: atomic writes that keep the process umask (``atomic_target``, ``atomic_write_bytes``), writability checks.
- ``claims``: outputs are never replaced without ``--overwrite`` (``claim_files``, ``claim_run_dir``); a directory is
  locked while a process writes it (``DirLock``).
- ``inputs``: the data directory a command reads (auto-generated only at its default location, provenance and shard
  checks), devices, and the clip-count check.
- ``procs``: worker processes die with their parent.

Every refusal is an ``OutputError`` or ``InputError`` (``s2sbench.errors``) whose message is one line naming what,
where and the fix; the CLI prints it as ``Error: ...`` and exits 1.
"""
from __future__ import annotations

from s2sbench.errors import InputError, OutputError

__all__ = ["InputError", "OutputError"]
