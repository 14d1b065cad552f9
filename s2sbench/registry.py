"""A small generic registry: decorator registration, lazy ``"module:attr"`` entries, did-you-mean errors.

One instance exists per kind of thing (datasets, models, metrics, audio features). CLI choices, ``s2sbench ls`` and
parametrised tests all read ``keys()``, so no second list of names can drift from the registry.

Example::

    MODELS = Registry("model", lazy={"copy_last": "s2sbench.baselines.copy_last:CopyLast"})
    MODELS.get("copy_last")        # imports s2sbench.baselines.copy_last on first use
    @MODELS.register("my_model")   # or register eagerly with a decorator
    class MyModel: ...
    with MODELS.registered("toy", Toy): ...   # only inside the block (tests)

A registry made with ``group=`` also reads the installed packages' entry points of that group (``importlib.metadata``)
on first use, as lazy entries: ``[project.entry-points."s2sbench.models"] my_model = "my_pkg.model:MyModel"`` in
another package's ``pyproject.toml`` adds ``my_model`` without touching this one. An entry point that reuses a
built-in name is refused (``RegistryError`` naming its distribution).

``keys()`` is sorted (CLI choices, listings); ``ordered()`` keeps the order of registration, which reports use
for their column and section order (the first-declared entry comes first).
"""
from __future__ import annotations

import contextlib
import difflib
import importlib
import threading
from typing import Callable, Generic, Iterator, TypeVar

from s2sbench.errors import ConfigError

T = TypeVar("T")


class RegistryError(ConfigError, KeyError):
    """An unknown or inconsistent registry name (a ``KeyError`` too: a registry is a mapping). ``str()`` is the plain
    message (KeyError quotes it otherwise)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Maps names to objects; entries may be given lazily as ``"package.module:attribute"`` strings."""

    def __init__(self, kind: str, lazy: dict[str, str] | None = None, group: str | None = None) -> None:
        self.kind = kind
        self.group = group  # entry point group read on first use (None: none)
        self._lazy: dict[str, str] = dict(lazy or {})
        self._items: dict[str, T] = {}
        self._lock = threading.RLock()
        self._plugins_read: bool | str = group is None  # True: read; a str: the clash to report

    def _plugins(self) -> None:
        """Add the entry points of ``group`` as lazy entries, once (they are read on first use, not at import). A
        name clash is raised on every use until the other package renames its entry point."""
        if self._plugins_read is not True:
            with self._lock:
                if self._plugins_read is False:
                    self._plugins_read = self._read_plugins() or True
        if isinstance(self._plugins_read, str):
            raise RegistryError(self._plugins_read)

    def _read_plugins(self) -> str | None:
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group=self.group), key=lambda e: e.name):
            if ep.name in self._lazy or ep.name in self._items:
                dist = getattr(ep.dist, "name", "?")
                return (f"entry point {ep.name} = {ep.value!r} of package {dist!r} (group {self.group!r}) reuses the "
                        f"{self.kind} name {ep.name!r}; rename it in that package's entry points")
            self._lazy[ep.name] = ep.value
        return None

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; without ``obj`` return a decorator."""

        def deco(o: T) -> T:
            with self._lock:
                self._plugins()
                if name in self._items and self._items[name] is not o:
                    raise RegistryError(f"{self.kind} {name!r} is registered twice")
                self._items[name] = o
            return o

        return deco if obj is None else deco(obj)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (lazy or registered); unknown names raise ``RegistryError``."""
        self._plugins()
        with self._lock:
            if name not in self:
                raise RegistryError(self._unknown(name))
            self._lazy.pop(name, None)
            self._items.pop(name, None)

    @contextlib.contextmanager
    def registered(self, name: str, obj: T) -> Iterator[T]:
        """Register ``obj`` as ``name`` for the duration of a ``with`` block (tests, experiments)."""
        self.register(name, obj)
        try:
            yield obj
        finally:
            self.unregister(name)

    def keys(self) -> list[str]:
        """All names, sorted, without importing anything."""
        self._plugins()
        return sorted(set(self._lazy) | set(self._items))

    def ordered(self) -> list[str]:
        """All names in the order they were declared (lazy entries first, in their given order)."""
        self._plugins()
        return list(self._lazy) + [k for k in self._items if k not in self._lazy]

    def __contains__(self, name: object) -> bool:
        self._plugins()
        return name in self._lazy or name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def target(self, name: str) -> str | None:
        """The lazy ``module:attr`` string of ``name``, if it has one."""
        self._plugins()
        return self._lazy.get(name)

    def get(self, name: str) -> T:
        """The object registered as ``name``; imports its module on first use."""
        self._plugins()
        with self._lock:
            if name in self._items:
                return self._items[name]
            if name not in self._lazy:
                raise RegistryError(self._unknown(name))
            module, _, attr = self._lazy[name].partition(":")
            obj = getattr(importlib.import_module(module), attr)
            self._items.setdefault(name, obj)
            return self._items[name]

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.keys(), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(self.keys())}"
