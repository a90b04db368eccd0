"""Response bodies: what /api/v1 returns, as documented in its OpenAPI document.

Routes return the services' records (``as_dict()``); these models describe them and drop
anything a record might carry that the API does not publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

Color = Literal["green", "amber", "red"]
T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` until it is null."""

    items: list[T]
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last.")


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Ready(BaseModel):
    status: Literal["ready"]


class Grant(BaseModel):
    role: str
    scope: str
    scope_id: str | None


class Whoami(BaseModel):
    id: str
    name: str
    kind: str
    grants: list[Grant]


class Principal(BaseModel):
    id: str
    name: str
    kind: str
    display_name: str
    email: str | None
    disabled: bool
    created_at: datetime


class Member(BaseModel):
    name: str
    owner: bool


class Team(BaseModel):
    id: str
    name: str
    description: str
    members: list[Member]
    created_at: datetime


class Binding(BaseModel):
    id: str
    principal: str
    role: str
    scope: str
    scope_id: str | None
    scope_name: str | None
    created_at: datetime


class Token(BaseModel):
    """Token metadata; the secret is never part of it."""

    id: str
    principal: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class NewToken(Token):
    """A token just issued: ``token`` is the secret, shown this once and never stored."""

    token: str


class Asset(BaseModel):
    id: str
    kind: str
    name: str
    team: str
    created_at: datetime


class Rotation(BaseModel):
    id: str
    team: str
    name: str
    members: list[str]
    timezone: str
    handoff: str
    period_hours: int
    starts_on: str


class OnCall(BaseModel):
    team: str
    rotation: str
    principal: str
    shift_start: datetime
    shift_end: datetime
    at: datetime


class Rung(BaseModel):
    level: str
    principal: str
    via: str


class AuditEntry(BaseModel):
    seq: int
    id: str
    ts: datetime
    actor: str
    action: str
    object_id: str
    reason: str
    change: dict[str, Any]
    prev_hash: str
    hash: str


class Verification(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    first_bad_id: str | None
    problem: str | None
    legacy: int
    anchors: int
    bad_anchor: int | None


class Event(BaseModel):
    seq: int
    id: str
    type: str
    object_id: str
    payload: dict[str, Any]
    created_at: datetime


class Light(BaseModel):
    area: str
    color: Color
    detail: str


class Board(BaseModel):
    board: Color = Field(description="The worst light.")
    areas: list[Light]


# Named pages: the OpenAPI document (and clients generated from it) say TeamPage, not Page_Team_.


class PrincipalPage(Page[Principal]):
    """A page of principals."""


class TeamPage(Page[Team]):
    """A page of teams."""


class BindingPage(Page[Binding]):
    """A page of role bindings."""


class TokenPage(Page[Token]):
    """A page of token metadata."""


class AssetPage(Page[Asset]):
    """A page of assets."""


class AuditPage(Page[AuditEntry]):
    """A page of audit entries."""


class EventPage(Page[Event]):
    """A page of outbox events."""
