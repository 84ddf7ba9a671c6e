"""Typed experiment configs: dataclass defaults <- preset <- YAML file <- `--set key.sub=value`.

Values given as text (the CLI) are parsed against the field's type hint, so a typo or a wrong
type is caught before anything runs, with a message that names the valid keys or the expected type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from paperzoo.core.errors import UserError


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def config_keys(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every settable dotted key of a (nested) config dataclass, with its type hint."""
    keys: dict[str, Any] = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            keys.update(config_keys(hint, prefix + f.name + "."))
        else:
            keys[prefix + f.name] = hint
    return keys


def type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(hint))
    if origin in (list, tuple):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"list of {type_name(args[0])}" if args else "list"
    return getattr(hint, "__name__", str(hint))


class _Mismatch(Exception):
    pass


def coerce(value: Any, hint: Any) -> Any:
    """Convert `value` (text from the CLI, or a YAML/Python value) to `hint`, or raise _Mismatch."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg)
            except _Mismatch:
                pass
        raise _Mismatch
    if origin is Literal:
        for allowed in typing.get_args(hint):
            if value == allowed or (isinstance(value, str) and str(allowed) == value):
                return allowed
        raise _Mismatch
    if origin in (list, tuple):
        if isinstance(value, str):
            text = value.strip()
            items = yaml.safe_load(text) if text.startswith("[") else [s for s in text.split(",") if s.strip()]
        else:
            items = value
        if not isinstance(items, list | tuple):
            raise _Mismatch
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        item_hint = args[0] if args else Any
        out = [coerce(v.strip() if isinstance(v, str) else v, item_hint) for v in items]
        return tuple(out) if origin is tuple else out
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        raise _Mismatch
    if hint is int:
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                try:
                    as_float = float(value)
                except ValueError:
                    raise _Mismatch from None
                if as_float.is_integer():
                    return int(as_float)
        raise _Mismatch
    if hint is float:
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _Mismatch from None
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _Mismatch
    if hint is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise _Mismatch
    if isinstance(value, hint):
        return value
    raise _Mismatch


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def load_yaml_overrides(path: Path) -> dict[str, Any]:
    """Read a YAML config file (nested mapping) as dotted-key overrides."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        tree = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path} is not valid YAML: {exc}") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise UserError(f"config file {path} must hold a mapping of keys to values, got {type(tree).__name__}")
    return flatten(tree)


def parse_set_options(items: list[str]) -> dict[str, str]:
    """['a.b=1', 'c=x'] -> {'a.b': '1', 'c': 'x'} (values stay text; typed later)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value (e.g. --set train.steps=100), got {item!r}")
        out[key.strip()] = value.strip()
    return out


def build_config(cls: type, *layers: dict[str, Any]) -> Any:
    """Instantiate `cls` with dotted-key override layers applied in order, type-checked."""
    keys = config_keys(cls)
    values: dict[str, Any] = {}
    for layer in layers:
        for key, raw in layer.items():
            if key not in keys:
                raise UserError(f"unknown config key {key!r}; valid keys: {', '.join(keys)}")
            try:
                values[key] = coerce(raw, keys[key])
            except _Mismatch:
                raise UserError(
                    f"config key {key!r} expects {type_name(keys[key])}, got {raw!r}"
                ) from None
    try:
        return _instantiate(cls, values, "")
    except (ValueError, TypeError) as exc:
        raise UserError(f"invalid config: {exc}") from None


def _instantiate(cls: type, values: dict[str, Any], prefix: str, base: Any = None) -> Any:
    """Build `cls` from overridden `values`; unset fields keep `base`'s value (the parent's default_factory)."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            sub_base = getattr(base, f.name) if base is not None else _field_default(f)
            kwargs[f.name] = _instantiate(hint, values, prefix + f.name + ".", sub_base)
        elif prefix + f.name in values:
            kwargs[f.name] = values[prefix + f.name]
        elif base is not None:
            kwargs[f.name] = getattr(base, f.name)
    return cls(**kwargs)


def _field_default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    if f.default is not dataclasses.MISSING:
        return f.default
    return None


def to_plain(cfg: Any) -> Any:
    """A config as plain YAML-able data (tuples as lists, paths as strings)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, list | tuple):
        return [to_plain(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: to_plain(v) for k, v in cfg.items()}
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg


def dump_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_plain(cfg), sort_keys=False)
