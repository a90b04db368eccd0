"""Request bodies. Unknown fields are refused so typos do not pass silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamCreate(_Body):
    name: str = Field(min_length=1, max_length=63)
    description: str = ""
    owners: list[str] = []
    reason: str = ""


class MemberAdd(_Body):
    principal: str
    owner: bool = False
    reason: str = ""


class RotationSet(_Body):
    members: list[str] = Field(min_length=1)
    timezone: str = "UTC"
    handoff: str = "09:00"
    period_hours: int = Field(168, ge=1, le=2160)
    starts_on: str
    reason: str = ""


class EscalationSet(_Body):
    principal: str | None = None
    rotation: str | None = None
    reason: str = ""


class PrincipalCreate(_Body):
    name: str = Field(min_length=1, max_length=100)
    kind: str = "user"
    display_name: str = ""
    email: str | None = None
    reason: str = ""


class Reason(_Body):
    reason: str = ""


class BindingCreate(_Body):
    principal: str
    role: str
    scope: str = "global"
    target: str | None = None
    reason: str = ""


class TokenCreate(_Body):
    principal: str | None = None
    name: str = ""
    expires_in_days: int | None = Field(None, ge=1, le=3650)
    reason: str = ""


class AssetCreate(_Body):
    kind: str
    name: str
    team: str
    reason: str = ""
