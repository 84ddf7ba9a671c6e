"""What every system shares: the experiment contract, configs, claims, metrics, figures, run folders, data.

Names are loaded on first use, so that `paperzoo --help` (which needs only `core.errors` and
`core.registry`) does not import numpy, torch or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Claim": "claims", "Claims": "claims", "param": "config", "Outcome": "context", "RunContext": "context",
    "DataError": "errors", "UserError": "errors", "SYSTEMS": "registry", "Experiment": "registry",
    "register": "registry",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'paperzoo.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"paperzoo.core.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
