"""Package attributes that import their module on first use, so `import paperzoo.<system>` stays light."""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str | None]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: name → its submodule (None: the name is the submodule itself)."""
    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{where[name] or name}")
        value = module if where[name] is None else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value
    return __getattr__
