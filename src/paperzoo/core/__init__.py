"""What every system shares: the experiment contract, configs, claims, metrics, figures, run folders, data.

Names are loaded on first use, so that `paperzoo --help` (which needs only `core.errors` and
`core.registry`) does not import numpy, torch or matplotlib.
"""

from __future__ import annotations

from paperzoo.core.lazy import lazy_exports

_WHERE = {
    "Claim": "claims", "Claims": "claims", "param": "config", "Outcome": "context", "RunContext": "context",
    "DataError": "errors", "UserError": "errors", "SYSTEMS": "registry", "Experiment": "registry",
    "register": "registry",
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
