"""andon: explain it, test it, stop it.

The public surface is small and stable; everything else is importable but internal.
"""

from typing import TYPE_CHECKING, Any

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
    "start_run",
]

if TYPE_CHECKING:
    from andon.registry.runs import start_run


def __getattr__(name: str) -> Any:
    """Lazy public names: importing ``andon`` stays light."""
    if name == "start_run":
        from andon.registry.runs import start_run

        return start_run
    raise AttributeError(f"module 'andon' has no attribute {name!r}")


__version__ = "0.1.0"
