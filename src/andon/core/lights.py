"""A light on the andon board, and the hook through which each domain offers its own.

The board sits above every domain, so the domains cannot import it: they register a provider
here instead (like datasette's plugin hooks), and the board iterates the providers in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from andon.core.context import Context

Color = Literal["green", "amber", "red"]
Provider = Callable[["Context"], "Light"]

_PROVIDERS: dict[str, tuple[int, Provider]] = {}


@dataclass(frozen=True)
class Light:
    """One area's state and the sentence that explains it."""

    area: str
    color: Color
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"area": self.area, "color": self.color, "detail": self.detail}


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 token``, ``2 tokens``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def register_light(name: str, order: int, provider: Provider) -> None:
    """Offer ``provider`` to the board under ``name``, at position ``order`` (lower first).

    Registering a name again replaces its provider.
    """
    _PROVIDERS[name] = (order, provider)


def light_providers() -> list[Provider]:
    """The registered providers, in board order."""
    return [provider for _, provider in sorted(_PROVIDERS.values(), key=lambda e: e[0])]
