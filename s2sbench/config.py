"""Strict dataclass configs: ``from_dict`` rejects unknown keys, wrong types (a bool is not a number) and values
outside a class's ``RANGES`` (``{"field": (low, high)}``, inclusive, ``None`` = unbounded); ``override`` applies
``a.b=v``. Every error is one ``ConfigError`` line naming the key, the value and what is allowed."""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Mapping, TypeVar

import yaml

from s2sbench.errors import ConfigError

C = TypeVar("C")


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def _coerce(name: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (tuple, list) and isinstance(value, str) and typing.get_args(tp)[:1] == (str,):
        value = [v.strip() for v in value.split(",") if v.strip()]  # --set eval.metrics=ssim_paper,psnr
    if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return from_dict(tp, value)
    if origin in (tuple, list) and isinstance(value, (list, tuple)):
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        out = [_coerce(name, inner, v) for v in value] if inner is not Any else list(value)
        return tuple(out) if origin is tuple else out
    if origin is typing.Union or str(origin) == "types.UnionType":
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(name, a, value)
            except ConfigError:
                pass
        raise ConfigError(f"config key {name!r}: {value!r} is not a {tp}")
    if tp is Any or origin is not None:
        return value
    if tp in (int, float) and isinstance(value, bool):
        raise ConfigError(f"config key {name!r}: expected a number ({tp.__name__}), got {value!r}")
    if tp is float and isinstance(value, (int, float)):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"config key {name!r}: expected true/false, got {value!r}")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"config key {name!r}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
    return value


def from_dict(cls: type[C], d: Mapping[str, Any]) -> C:
    """Build dataclass ``cls`` from ``d``; unknown keys and wrongly typed values raise ``ConfigError``."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(d) - fields)
    if unknown:
        raise ConfigError(f"unknown config key(s) for {cls.__name__}: {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(fields))}")
    obj = cls(**{k: _coerce(k, hints[k], v) for k, v in d.items()})
    check_ranges(obj)
    return obj


def check_ranges(cfg: Any) -> None:
    """Raise ``ConfigError`` for the first field of ``cfg`` outside its class's ``RANGES``."""
    for key, (lo, hi) in getattr(type(cfg), "RANGES", {}).items():
        v = getattr(cfg, key)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            allowed = (f">= {lo}" if hi is None else f"<= {hi}" if lo is None else f"in {lo}..{hi}")
            raise ConfigError(f"config key {key!r} of {type(cfg).__name__}: {v!r} is out of range (must be "
                              f"{allowed})")


def override(cfg: C, assignments: list[str] | tuple[str, ...]) -> C:
    """Apply ``key=value`` (or ``a.b=value`` into nested dataclasses); values are parsed as YAML scalars."""
    d = to_dict(cfg)
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r} is not key=value")
        node, parts = d, key.strip().split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                raise ConfigError(f"override {item!r}: {p!r} is not a config section")
            node = node[p]
        if parts[-1] not in node:
            raise ConfigError(f"override {item!r}: unknown key {key!r}; known: {', '.join(sorted(node))}")
        try:
            node[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: {raw!r} is not a value (use key=value)") from None
    return from_dict(type(cfg), d)
