"""The data directory a command reads, checked before any compute.

- ``open_data``: a synthetic dataset is generated automatically only at its default location
  (``$S2SBENCH_DATA/<dataset>``) and only when nothing is there yet (saying so; ``progress=False`` for ``--quiet``),
  or when an interrupted generation is there (its build record ``.build.json``, no ``index.json``): it is resumed.
  A download folder (``DIR`` holding ``DIR/shards/index.json``, what ``s2sbench download`` writes) is read from its
  ``shards`` folder. An explicit ``--data`` that does not exist, any directory without a valid ``index.json``, and
  a dataset without clips (a download that obtained none) are an ``InputError`` naming it and the fix. The
  dataset is then checked (``check_provenance``) and the shards of the splits the command reads are verified (sizes
  and sha256, ``check_shards``). The result is the one ``Data`` handle the command hands down (its index is the one
  loaded for these checks).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from s2sbench.data.build import BUILD_NAME
from s2sbench.data.datasets import DATASETS
from s2sbench.data.handle import Data
from s2sbench.data.shards import INDEX_NAME, ShardError, ShardIndex
from s2sbench.errors import InputError


def _fix(info, root: Path) -> str:
    if info.synthetic:  # the dataset table's command, pointed at this directory
        return f"make it with `{info.make_command} --out {root}`"
    return f"get it with `{info.make_command}`"


def dataset_root(root: Path) -> Path:
    """``root``, or ``root/shards`` when ``root`` is a download folder (its index is in ``shards``)."""
    if not (root / INDEX_NAME).exists() and (root / "shards" / INDEX_NAME).exists():
        return root / "shards"
    return root


def open_data(dataset: str, data: str | os.PathLike | None, *, splits: Iterable[str] = ("train", "val", "test"),
              progress: bool = True, echo: Callable[[str], None] = print, generate: bool = True) -> Data:
    """The checked dataset ``dataset``, opened (see the module docstring); ``generate=False`` never generates."""
    info = DATASETS.get(dataset)
    root = Path(data) if data else info.default_dir()
    if data and not root.exists():
        raise InputError(f"{root}: --data does not exist; pass the directory of a {dataset} dataset, or omit "
                         f"--data to use {info.default_dir()}")
    root = dataset_root(root)
    if not (root / INDEX_NAME).exists():
        empty = not root.exists() or (root.is_dir() and not any(root.iterdir()))
        interrupted = root.is_dir() and (root / BUILD_NAME).exists()
        if interrupted and info.synthetic and (data or not generate):
            raise InputError(f"{root}: an interrupted generation (no index.json yet); rerun the command that made "
                             f"it with the same options to finish it, e.g. `{info.make_command} --out {root}`")
        if interrupted and info.synthetic:
            echo(f"{root}: resuming the interrupted generation of the embedded default {dataset} there ...")
            info.source_entry.generate(root, info, seed=0, progress=progress)
        elif data or not empty or not info.synthetic or not generate:
            what = "is not a dataset directory (no index.json)" if root.is_dir() else "does not exist"
            if root.exists() and not root.is_dir():
                what = "is not a directory"
            raise InputError(f"{root}: {what}; {_fix(info, root)}, or pass --data DIR of a {dataset} dataset")
        else:
            source = info.source_entry  # the dataset's SOURCES entry (a synthesizer here)
            echo(f"No {dataset} data at {root} (its default location): generating the embedded default there "
                 f"({source.describe(info)}, seed 0; Ctrl-C stops it, the next run resumes it) ...")
            source.generate(root, info, seed=0, progress=progress)
    try:
        index = ShardIndex.load(root)
    except ShardError as e:
        raise InputError(f"{e}; {_fix(info, root)} (with --overwrite to replace it)") from None
    check_provenance(index, root, dataset)
    if not index.shards:
        why = "" if info.synthetic else " (the download's manifest.csv says why each clip failed)"
        raise InputError(f"{root / INDEX_NAME}: the dataset has no clips{why}; {_fix(info, root)}, or pass "
                         f"--data DIR of a {dataset} dataset")
    check_shards(index, root, splits)
    return Data(root, info, index, index.digest())


def check_provenance(index, root: Path, dataset: str) -> None:
    """The index in ``root`` must describe ``dataset``: its recorded name and its ``ClipSpec``."""
    info = DATASETS.get(dataset)
    path = root / "index.json"
    named = index.source.get("dataset")
    if named and named != dataset:
        raise InputError(f"{path}: this is {named} data, not {dataset}; pass --dataset {named} or the --data "
                         f"directory of a {dataset} dataset")
    if index.spec != info.spec:
        have, want = index.spec.to_dict(), info.spec.to_dict()
        diff = ", ".join(f"{k} {have[k]} (expected {want[k]})" for k in want if have[k] != want[k])
        raise InputError(f"{path}: the clips do not have the {dataset} spec: {diff}; pass the --data directory "
                         f"of a {dataset} dataset")


def check_shards(index, root: Path, splits: Iterable[str]) -> None:
    """Verify presence, size and sha256 of the shards of ``splits`` (about 1.5 s per 100 MB); one-line error."""
    wanted = set(splits)
    part = ShardIndex(spec=index.spec, shards=[r for r in index.shards if r.split in wanted], source=index.source)
    problems = part.verify(root)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise InputError(f"{problems[0]}{more}; run `s2sbench verify {root}`, then regenerate or re-download "
                         f"the dataset")
