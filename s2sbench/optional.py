"""``require(module, extra)``: import an optional dependency, or fail with one line naming the extra that installs it.

The core install needs only what the core imports; heavy optional parts are extras of ``pyproject.toml``
(``download``: yt-dlp, soundfile; ``plots``: matplotlib; ``study``; ``all``). Code that needs one imports it with
``require`` where it is used; a missing package raises ``MissingExtraError``, which the CLI prints as
``Error: matplotlib is not installed: install it with pip install 's2sbench[plots]'``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from s2sbench.errors import ToolError


class MissingExtraError(ImportError, ToolError):
    """An optional package is missing; ``str()`` says which extra installs it (an ``ImportError`` too, so that
    ``except ImportError`` fallbacks still see it)."""


def require(module: str, extra: str) -> ModuleType:
    """``importlib.import_module(module)``, or ``MissingExtraError`` naming ``pip install 's2sbench[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        if e.name is not None and e.name.partition(".")[0] != top:
            raise  # the package is there but one of its own dependencies is broken: show the real error
        raise MissingExtraError(f"{top} is not installed: install it with pip install 's2sbench[{extra}]'",
                                name=top) from None
