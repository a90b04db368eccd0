"""Request bodies of the model endpoints (shapes only; the services validate meaning)."""

from __future__ import annotations

from pydantic import Field

from andon.api.schemas import VERSION_MAX, Body, reason_field
from andon.cards.narrative import MAX_TEXT


class AliasSetBody(Body):
    version: int = Field(ge=1, le=VERSION_MAX, description="The version the alias points at.")
    expected_version: int | None = Field(
        None,
        ge=1,
        le=VERSION_MAX,
        description="Compare-and-swap: the version the alias must point at now.",
    )
    reason: str = reason_field()


class CardSectionBody(Body):
    text: str = Field(
        max_length=MAX_TEXT,
        description="The section's text; empty clears it (an earlier version's shows through).",
    )
