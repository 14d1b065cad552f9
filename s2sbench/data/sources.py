"""The ``SOURCES`` registry: where a dataset's clips come from (DESIGN.md's ``ClipSource``).

A source is a **synthesizer** (clips generated locally, e.g. ``m3so``) or a **downloader** (real videos fetched and
cut, e.g. ``audioset-drums``). Every dataset entry of ``s2sbench.data.datasets`` names its source and the source's
options (``source_options``, e.g. the M3SO variant); code that makes, checks or describes data reads the entry and
its source, never the dataset's name.

- ``Source.synthetic``: generated locally (True) or downloaded (False);
- ``Source.generate(out, info, n=None, seed=0, progress=True)`` (synthesizers only): imports ``make``, a
  ``"module:function"`` string, on first use and calls ``make(out, **info.source_options, [n=n,] seed=seed,
  progress=progress)``, which writes a verified shard directory and returns its ``ShardIndex``;
- ``Source.made(index_source, info)``: whether an ``index.json`` ``source`` record says this source wrote it with the
  dataset's options (a synthesizer records ``"generator": <source name>`` and its options there).

Downloaders have their own ``s2sbench download <name>`` command (their options differ); the entry says what they are.
Adding a source: its module plus one ``SOURCES.register`` line here (or at run time, e.g. in a test).
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Callable

from s2sbench.errors import InputError
from s2sbench.registry import Registry

KINDS = ("synthesizer", "downloader")


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # one of KINDS
    summary: str
    make: str | Callable[..., Any] = ""  # synthesizers: "module:function" (or the function itself)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"source {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.synthetic and not self.make:
            raise ValueError(f"source {self.name!r}: a synthesizer needs make='module:function'")

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthesizer"

    def maker(self) -> Callable[..., Any]:
        """The generating function (imported now; never cached, so a test may stand in for its module)."""
        if callable(self.make):
            return self.make
        module, _, attr = self.make.partition(":")
        return getattr(importlib.import_module(module), attr)

    def describe(self, info: Any) -> str:
        """``"s2sbench.generators.m3so.make_m3so, variant 'nb'"``: what ``generate`` calls for dataset ``info``."""
        target = self.make.replace(":", ".") if isinstance(self.make, str) else getattr(self.make, "__qualname__", "")
        opts = ", ".join(f"{k} {v!r}" for k, v in info.source_options.items())
        return f"{target}, {opts}" if opts else target

    def generate(self, out: str | os.PathLike, info: Any, *, n: int | None = None, seed: int = 0,
                 progress: bool = True) -> Any:
        """Generate dataset ``info`` (a ``DatasetInfo`` whose source is this one) into ``out``; its ``ShardIndex``."""
        if not self.synthetic:
            raise InputError(f"{info.name}: source {self.name!r} is a downloader, its data cannot be generated; get "
                             f"it with `{info.make_command}`")
        kwargs = dict(info.source_options, seed=seed, progress=progress)
        if n is not None:
            kwargs["n"] = n
        return self.maker()(out, **kwargs)

    def made(self, index_source: dict, info: Any) -> bool:
        """Whether an index's ``source`` record names this generator with ``info``'s options."""
        return index_source.get("generator") == self.name and all(
            index_source.get(k) == v for k, v in info.source_options.items())


SOURCES: Registry[Source] = Registry("dataset source")
for _s in (
    Source("m3so", "synthesizer", "moving MNIST digit with tones, optionally a surprise block (variants m3so, nb)",
           make="s2sbench.generators.m3so:make_m3so"),
    Source("audioset-drums", "downloader", "AudioSet segments with a Drum label, fetched with yt-dlp and cut to 3 s"),
    Source("youtube-painting", "downloader", "painting videos of a YouTube playlist, fetched with yt-dlp, 3 s windows"),
):
    SOURCES.register(_s.name, _s)
