"""andon: explain it, test it, stop it.

The public surface is small and stable; everything else is importable but internal.
"""

from andon.core.errors import (
    AndonError,
    BudgetExceeded,
    Conflict,
    Forbidden,
    GateFailed,
    Invalid,
    NotFound,
    Stopped,
    Unavailable,
)

__all__ = [
    "AndonError",
    "BudgetExceeded",
    "Conflict",
    "Forbidden",
    "GateFailed",
    "Invalid",
    "NotFound",
    "Stopped",
    "Unavailable",
    "__version__",
]

__version__ = "0.1.0"
