"""Request bodies of the AI factory's endpoints (shapes only; the services validate meaning)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from andon.api.schemas import Body, reason_field
from andon.cards.narrative import MAX_TEXT

VERSION_MAX = 2_147_483_647


class AliasSet(Body):
    version: int = Field(ge=1, le=VERSION_MAX, description="The version the alias points at.")
    expected_version: int | None = Field(
        None,
        ge=1,
        le=VERSION_MAX,
        description="Compare-and-swap: the version the alias must point at now.",
    )
    reason: str = reason_field()


class CardSectionEdit(Body):
    text: str = Field(
        max_length=MAX_TEXT,
        description="The section's text; empty clears it (an earlier version's shows through).",
    )


class ApprovalDecision(Body):
    decision: Literal["approve", "reject"]
    role: str = Field(
        min_length=1, max_length=100, description="The required role this decision fills."
    )
    reason: str = Field(
        min_length=1, max_length=2000, description="Why; recorded in the audit log."
    )


class PromoteBody(Body):
    expected_version: int | None = Field(
        None,
        ge=1,
        le=VERSION_MAX,
        description="Compare-and-swap: the version the stage must hold now (409 naming the "
        "version it holds otherwise).",
    )
    reason: str = reason_field()


class RollbackBody(Body):
    reason: str = Field(
        min_length=1, max_length=2000, description="Why; recorded in the audit log."
    )
