"""Typed experiment configs: dataclass defaults <- preset <- YAML file <- `--set key.sub=value`.

Values given as text (the CLI) are parsed against the field's type hint, so a typo or a wrong
type is caught before anything runs, with a message that names the valid keys or the expected type.
Fields declare their constraints and a one-line doc with `param(...)`; every float must be finite unless
its field allows NaN. Constraints are checked on the override values before the config's `__post_init__`
runs, and on the whole resolved config afterwards, so nothing is built from an invalid config:

    @dataclass
    class TrainConfig:
        lr: float = param(1e-3, gt=0, doc="Adam learning rate")
        epochs: int = param(3, ge=1, doc="passes over the training set")
        optimizer: str = param("adam", choices=("adam", "sgd"), doc="optimiser")
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from paperzoo.core.errors import UserError


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@dataclasses.dataclass(frozen=True)
class Constraint:
    """What a config value must satisfy. Bounds and choices apply to each element of a list value."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    path: str | None = None  # "file", "dir" or "exists": checked when the value is not None
    nonempty: bool = False
    allow_nan: bool = False

    def describe(self) -> str:
        parts = [f"{op} {v:g}" for op, v in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
                 if v is not None]
        if self.choices is not None:
            parts.append("one of " + ", ".join(repr(c) for c in self.choices))
        if self.path:
            parts.append({"file": "an existing file", "dir": "an existing folder", "exists": "an existing path"}
                         [self.path])
        if self.nonempty:
            parts.append("non-empty")
        return ", ".join(parts)

    def violation(self, value: Any) -> str | None:
        """Why `value` breaks this constraint, or None."""
        if value is None:
            return None
        if self.nonempty and isinstance(value, Sequence) and not isinstance(value, str) and not value:
            return "must not be empty"
        for item in value if isinstance(value, list | tuple) else (value,):
            why = self._scalar(item)
            if why:
                return why
        return None

    def _scalar(self, v: Any) -> str | None:
        if isinstance(v, float) and not math.isfinite(v) and not self.allow_nan:
            return "must be a finite number"
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            for op, bound, ok in ((">=", self.ge, lambda a, b: a >= b), (">", self.gt, lambda a, b: a > b),
                                  ("<=", self.le, lambda a, b: a <= b), ("<", self.lt, lambda a, b: a < b)):
                if bound is not None and not ok(v, bound):
                    return f"must be {op} {bound:g}"
        if self.choices is not None and v not in self.choices:
            return "must be one of " + ", ".join(repr(c) for c in self.choices)
        if self.path and isinstance(v, str | Path):
            p = Path(v).expanduser()
            exists = {"file": p.is_file, "dir": p.is_dir, "exists": p.exists}[self.path]()
            if not exists:
                return f"must be {Constraint(path=self.path).describe()} (nothing usable at {p})"
        return None


FINITE = Constraint()  # what a field without param(...) gets: floats must be finite


def param(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, doc: str = "",
          ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
          choices: Sequence[Any] | None = None, path: str | None = None, nonempty: bool = False,
          allow_nan: bool = False) -> Any:
    """A config field with a one-line doc and declared constraints (checked by core before any work)."""
    if path not in (None, "file", "dir", "exists"):
        raise ValueError(f"param(path=...) must be 'file', 'dir' or 'exists', got {path!r}")
    meta = {"doc": doc, "constraint": Constraint(ge, gt, le, lt, tuple(choices) if choices is not None else None,
                                                 path, nonempty, allow_nan)}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    if isinstance(default, list | dict | set):
        frozen = default
        return dataclasses.field(default_factory=lambda: type(frozen)(frozen), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class KeyInfo:
    """One settable dotted config key: its type hint, doc and constraint."""

    key: str
    hint: Any
    doc: str
    constraint: Constraint


def config_fields(cls: type, prefix: str = "") -> dict[str, KeyInfo]:
    """Every settable dotted key of a (nested) config dataclass with its type, doc and constraint."""
    out: dict[str, KeyInfo] = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out.update(config_fields(hint, prefix + f.name + "."))
        else:
            out[prefix + f.name] = KeyInfo(prefix + f.name, hint, f.metadata.get("doc", ""),
                                           f.metadata.get("constraint", FINITE))
    return out


def check_constraints(cfg: Any) -> None:
    """Raise UserError naming every key of the resolved config whose value breaks its constraint."""
    infos = config_fields(type(cfg))
    values = flatten_config(cfg)
    problems = [_violation_text(k, values[k], infos[k].constraint) for k in infos]
    problems = [p for p in problems if p]
    if problems:
        raise UserError("invalid config:\n  " + "\n  ".join(problems))


def _violation_text(key: str, value: Any, constraint: Constraint) -> str | None:
    why = constraint.violation(value)
    return f"config key {key!r} = {value!r} {why}" if why else None


def flatten_config(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """A config instance as {dotted key: value} (values as they are, tuples stay tuples)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        if not f.init:
            continue
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            out.update(flatten_config(v, prefix + f.name + "."))
        else:
            out[prefix + f.name] = v
    return out


def did_you_mean(key: str, valid: Sequence[str]) -> str:
    """' (did you mean 'train.lr'?)' for a mistyped or unqualified key, else ''."""
    tail = [k for k in valid if k.endswith("." + key) or k.split(".")[-1] == key.split(".")[-1]]
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
    guesses = list(dict.fromkeys([*close, *tail]))[:3]
    return f" (did you mean {' or '.join(repr(g) for g in guesses)}?)" if guesses else ""


def config_keys(cls: type) -> dict[str, Any]:
    """Every settable dotted key of a (nested) config dataclass, with its type hint."""
    return {k: info.hint for k, info in config_fields(cls).items()}


def type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(hint))
    if origin in (list, tuple):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"list of {type_name(args[0])}" if args else "list"
    if hint is type(None):
        return "None"
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
            try:
                items = yaml.safe_load(text) if text.startswith("[") else [s for s in text.split(",") if s.strip()]
            except yaml.YAMLError:
                raise _Mismatch from None
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
        tree = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "--config takes a YAML file of nested keys") from None
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
    infos = config_fields(cls)
    values: dict[str, Any] = {}
    for layer in layers:
        for key, raw in layer.items():
            if key not in infos:
                raise UserError(f"unknown config key {key!r}{did_you_mean(key, list(infos))}; "
                                f"valid keys: {', '.join(infos)}")
            try:
                values[key] = coerce(raw, infos[key].hint)
            except _Mismatch:
                raise UserError(
                    f"config key {key!r} expects {type_name(infos[key].hint)}, got {raw!r}"
                ) from None
    problems = [_violation_text(k, v, infos[k].constraint) for k, v in values.items()]
    problems = [p for p in problems if p]
    if problems:  # before __post_init__ sees the values
        raise UserError("invalid config:\n  " + "\n  ".join(problems))
    try:
        cfg = _instantiate(cls, values, "")
    except (ValueError, TypeError) as exc:
        raise UserError(f"invalid config: {exc}") from None
    check_constraints(cfg)
    return cfg


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


def describe_config(cls: type, preset: dict[str, Any]) -> list[dict[str, str]]:
    """One row per key for `paperzoo config`: key, type, default, the preset's value, constraint, doc."""
    defaults = flatten_config(cls())
    infos = config_fields(cls)
    resolved = flatten_config(build_config(cls, preset)) if preset else defaults
    return [{"key": k, "type": type_name(info.hint), "default": _show(defaults[k]), "preset": _show(resolved[k]),
             "constraint": info.constraint.describe(), "doc": info.doc} for k, info in infos.items()]


def _show(value: Any) -> str:
    plain = to_plain(value)
    return yaml.safe_dump(plain, default_flow_style=True).strip().removesuffix("...").strip() \
        if isinstance(plain, list | dict) else str(plain)
