"""Request bodies. Unknown fields are refused so typos do not pass silently, and types are
strict (``true`` is not a number of days, ``1`` is not a name).

The services validate names, roles and scopes; these models only check shapes, refuse NUL
characters (no store keeps them in text), and list the allowed values in the
OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from andon.auth.service import PRINCIPAL_KINDS
from andon.core.permissions import ROLES, ScopeKind

VERSION_MAX = 2_147_483_647
"""The largest model version number a request may name (PostgreSQL's ``integer``)."""


class Body(BaseModel):
    """A request body: unknown fields refused, types strict, no NUL characters in text."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "\x00" in item:
                raise ValueError("must not contain NUL characters")
        return value


def _one_of(values: tuple[str, ...]) -> dict[str, Any]:
    return {"enum": list(values)}


def reason_field() -> Any:
    """The optional ``reason`` field every changing request carries into the audit log."""
    return Field("", max_length=2000, description="Why; recorded in the audit log.")


class TeamCreateBody(Body):
    name: str = Field(min_length=1, max_length=63)
    description: str = Field("", max_length=2000)
    owners: list[str] = Field([], description="Principals who own the team.")
    reason: str = reason_field()


class MemberAddBody(Body):
    principal: str
    owner: bool = False
    reason: str = reason_field()


class RotationSetBody(Body):
    members: list[str] = Field(min_length=1, description="Principals, in hand-off order.")
    timezone: str = Field("UTC", description="IANA timezone of the hand-off time.")
    handoff: str = Field("09:00", description="Hand-off wall-clock time, HH:MM.")
    period_hours: int = Field(168, ge=1, le=2160)
    starts_on: str = Field(description="Date of the first hand-off, YYYY-MM-DD.")
    reason: str = reason_field()


class EscalationSetBody(Body):
    principal: str | None = Field(None, description="Give exactly one of principal or rotation.")
    rotation: str | None = None
    reason: str = reason_field()


class PrincipalCreateBody(Body):
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field("user", json_schema_extra=_one_of(PRINCIPAL_KINDS))
    display_name: str = Field("", max_length=200)
    email: str | None = Field(None, max_length=320)
    reason: str = reason_field()


class ReasonBody(Body):
    reason: str = reason_field()


class BindingCreateBody(Body):
    principal: str
    role: str = Field(json_schema_extra=_one_of(ROLES))
    scope: ScopeKind = "global"
    target: str | None = Field(None, description="Team name or asset id; none for global.")
    reason: str = reason_field()


class TokenCreateBody(Body):
    principal: str | None = Field(None, description="Whose token; default the caller.")
    name: str = Field("", max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)
    reason: str = reason_field()


class AssetCreateBody(Body):
    kind: str
    name: str
    team: str
    reason: str = reason_field()
