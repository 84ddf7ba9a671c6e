"""A restricted unpickler for data files in pickle format (MNIST .pkl.gz, RadioML 2016.10a).

Pickle can run arbitrary code on load. This unpickler resolves only the globals needed to rebuild
numpy arrays and plain containers; anything else (os.system, builtins.eval, ...) is refused.
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

from paperzoo.core.errors import UserError

NUMPY_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # Python 2 pickles of numpy arrays encode their bytes with it
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that admits only `allowed` (module, name) globals."""

    def __init__(self, file: IO[bytes], allowed: frozenset[tuple[str, str]] = NUMPY_GLOBALS, **kwargs: Any):
        super().__init__(file, **kwargs)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise UserError(
                f"refusing to unpickle {module}.{name}: this file may carry code. Only numpy arrays, "
                "tuples, lists, dicts, strings and numbers are accepted."
            )
        return super().find_class(module, name)


def restricted_load(file: IO[bytes] | bytes, encoding: str = "latin1",
                    allowed: frozenset[tuple[str, str]] = NUMPY_GLOBALS) -> Any:
    """Load a data pickle (Python 2 pickles need encoding='latin1'), refusing any code-carrying global."""
    if isinstance(file, bytes | bytearray):
        file = io.BytesIO(file)
    try:
        return RestrictedUnpickler(file, allowed=allowed, encoding=encoding).load()
    except UserError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, OverflowError, UnicodeDecodeError) as exc:
        # an allowed constructor called with bad arguments (numpy.dtype("nonsense")) lands here too
        raise UserError(f"not a readable data pickle: {type(exc).__name__}: {exc}") from None
