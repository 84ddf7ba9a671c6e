"""Every loader of a real data format, registered in one place so one test can feed each a garbage file
and an empty file (both must raise DataError/UserError naming the file, never a traceback).

    @loader("amr.rml2016", kind="file", suffix=".pkl", doc="RadioML 2016.10a pickle")
    def load_rml2016(path): ...

`kind="dir"` loaders take a folder (VOC, SVHN, PT layouts): the test gives them an empty folder and a folder
holding one garbage file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Loader:
    name: str
    fn: Callable[[Path], Any]
    kind: Literal["file", "dir"]
    suffix: str
    doc: str


LOADERS: dict[str, Loader] = {}


def loader(name: str, *, kind: Literal["file", "dir"] = "file", suffix: str = "", doc: str = "") -> Callable[[F], F]:
    """Register `fn(path)` as the loader `name` (`system.format`); returns `fn` unchanged."""
    if kind not in ("file", "dir"):
        raise ValueError(f"loader kind must be 'file' or 'dir', got {kind!r}")

    def register(fn: F) -> F:
        LOADERS[name] = Loader(name, fn, kind, suffix, doc or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register
