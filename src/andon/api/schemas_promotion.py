"""Request bodies of the promotion endpoints: approval decisions, promotions, rollbacks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from andon.api.schemas import VERSION_MAX, Body, reason_field


class ApprovalDecisionBody(Body):
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
