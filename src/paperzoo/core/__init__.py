"""What every system shares: the experiment contract, configs, run folders, reports, offline data."""

from paperzoo.core.errors import UserError
from paperzoo.core.registry import SYSTEMS, Experiment, register
from paperzoo.core.runner import Claim, Outcome, RunContext

__all__ = ["SYSTEMS", "Claim", "Experiment", "Outcome", "RunContext", "UserError", "register"]
