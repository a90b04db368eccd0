"""andon: explain it, test it, stop it.

The public surface is small and stable (pinned by ``tests/core/test_public_api.py``);
everything else is importable but internal::

    import andon

    with andon.start_run("baseline", team="risk") as run:
        run.log_metrics({"f1": 0.91})
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from andon.core.errors import (
    AndonError,
    BudgetExceeded,
    Conflict,
    Forbidden,
    GateFailed,
    Invalid,
    NotFound,
    SchemaMismatch,
    Stopped,
    TamperedArtifact,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)

__all__ = [
    "AndonError",
    "BudgetExceeded",
    "Conflict",
    "Context",
    "Forbidden",
    "GateFailed",
    "Invalid",
    "NotFound",
    "Run",
    "SchemaMismatch",
    "Settings",
    "Stopped",
    "TamperedArtifact",
    "TooLarge",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "__version__",
    "local_context",
    "start_run",
]

if TYPE_CHECKING:
    from andon.core.config import Settings
    from andon.core.context import Context
    from andon.registry.local import local_context
    from andon.registry.runs import Run, start_run

# Imported on first use, so that ``import andon`` stays light (no SQLAlchemy, no pydantic).
_LAZY = {
    "Context": "andon.core.context",
    "Run": "andon.registry.runs",
    "Settings": "andon.core.config",
    "local_context": "andon.registry.local",
    "start_run": "andon.registry.runs",
}


def __getattr__(name: str) -> Any:
    """Lazy public names: importing ``andon`` stays light."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'andon' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"
