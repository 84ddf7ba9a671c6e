"""The user-facing error type (paperzoo.core.UserError: the CLI prints it and exits 2)."""

from paperzoo.core import UserError

__all__ = ["UserError"]
