"""``s2sbench run --config run.toml``: a run's options in a TOML file, and the resolved config a run saves.

The file holds the run options at the top (``dataset``, ``preset``, ``seed``, ``device``, ``data``, ``out``,
``checkpoint``, ``threads``) and three tables: ``[model]`` (``name``, the registered model, and its Config keys),
``[train]`` (``TrainConfig``) and ``[eval]`` (``EvalConfig``); nested Config sections are nested tables
(``[model.encoder]``). Options given on the command line win over the file, and ``--set`` wins over its tables::

    dataset = "m3so-nb"
    preset = "quick"

    [model]
    name = "sound2sight"

    [train]
    cpu_budget_min = 20.0

    [eval]
    n_samples = 10

Every run writes ``RUN_DIR/config.toml`` in this format, fully resolved (every key of the three configs, after the
preset, the file and ``--set``; keys whose value is empty (None) are left out, so they take their default), before
it trains: ``s2sbench run --config RUN_DIR/config.toml --out NEW_DIR`` runs the same again.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TypeVar

from s2sbench.config import from_dict, to_dict
from s2sbench.errors import ConfigError
from s2sbench.safety.files import atomic_write_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

C = TypeVar("C")
OPTIONS = ("model", "dataset", "preset", "seed", "device", "data", "out", "checkpoint", "threads")
TABLES = ("model", "train", "eval")
CONFIG_NAME = "config.toml"


@dataclass
class RunConfig:
    """A loaded ``--config`` file: its run ``options`` and the ``train`` / ``eval`` / ``model`` tables."""

    path: Path
    options: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    eval: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)  # the model Config's keys (``name`` moved to options)


def load_run_config(path: str | os.PathLike) -> RunConfig:
    """Read and check the shape of a ``--config`` file (values are checked when applied); one ``ConfigError``."""
    path = Path(path)
    try:
        d = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: --config file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: not a readable TOML file ({e}); see docs/training.md, config files") from None
    tables = {t: d.pop(t) for t in TABLES if isinstance(d.get(t), dict)}
    unknown = sorted(k for k in d if k not in OPTIONS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; the top level takes {', '.join(OPTIONS)} "
                          f"and the tables [{'], ['.join(TABLES)}]")
    model = dict(tables.get("model", {}))
    if "name" in model:
        if "model" in d:
            raise ConfigError(f"{path}: the model is named twice (model = ... and [model] name = ...); keep one")
        d["model"] = model.pop("name")
    return RunConfig(path, d, dict(tables.get("train", {})), dict(tables.get("eval", {})), model)


def _merge(base: dict, table: Mapping) -> dict:
    out = dict(base)
    for k, v in table.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def apply_table(cfg: C, table: Mapping[str, Any], where: str) -> C:
    """``cfg`` with the keys of ``table`` (nested tables into nested Configs); errors name ``where`` (file [table])."""
    if not table:
        return cfg
    if not dataclasses.is_dataclass(cfg):
        raise ConfigError(f"{where}: this model has no Config to set keys of; remove the table")
    try:
        return from_dict(type(cfg), _merge(to_dict(cfg), table))
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    return json.dumps(str(v))  # a TOML basic string is a JSON string


def _table(name: str, d: Mapping[str, Any], lines: list[str]) -> None:
    lines += ["", f"[{name}]"]
    nested = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            nested.append((k, v))
        elif v is not None:
            lines.append(f"{k} = {_value(v)}")
    for k, v in nested:
        _table(f"{name}.{k}", v, lines)


def dump_run_config(options: Mapping[str, Any], model: Mapping[str, Any], train: Mapping[str, Any],
                    eval: Mapping[str, Any]) -> str:
    """The TOML text of a resolved run (see the module docstring); ``model`` holds ``name`` and the Config."""
    lines = ["# The resolved options of this run: `s2sbench run --config THIS_FILE --out NEW_DIR` runs it again."]
    lines += [f"{k} = {_value(v)}" for k, v in options.items() if v is not None and k != "model"]
    _table("model", {"name": options["model"], **model}, lines)
    _table("train", train, lines)
    _table("eval", eval, lines)
    return "\n".join(lines) + "\n"


def save_run_config(run_dir: Path, options: Mapping[str, Any], model: Mapping[str, Any], train: Any,
                    eval: Any) -> Path:
    """Write ``run_dir/config.toml`` atomically (``train`` / ``eval``: the resolved dataclasses)."""
    path = Path(run_dir) / CONFIG_NAME
    text = dump_run_config(options, model, to_dict(train), to_dict(eval))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, text.encode())
    return path
