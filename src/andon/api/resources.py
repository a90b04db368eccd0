"""Response bodies of /api/v1 that every router shares, and those of identity, teams, audit and
the board.

Routes return the services' records (``as_dict()``) and declare the record dataclass itself as
the response model (:mod:`andon.core.records`). A model here exists only for a shape no record
has: a page of records, an envelope the route assembles, or a record the API publishes with a
field hidden or added (each says which). Names: ``...Page`` for a page, ``...Response`` for
the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from andon.auth.records import (
    AssetRecord,
    BindingRecord,
    PrincipalRecord,
    TeamRecord,
    TokenRecord,
)
from andon.core.lights import Color, Light
from andon.core.permissions import Grant
from andon.core.records import published
from andon.store.outbox import Event

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` until it is null."""

    items: list[T]
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last.")


class HealthResponse(BaseModel):
    """The liveness probe's answer."""

    status: Literal["ok"]
    version: str


class ReadyResponse(BaseModel):
    """The readiness probe's answer."""

    status: Literal["ready"]


class WhoamiResponse(BaseModel):
    """The authenticated principal and its grants (assembled by ``auth.whoami``)."""

    id: str
    name: str
    kind: str
    grants: list[Grant]


@published
@dataclass(frozen=True)
class NewTokenResponse(TokenRecord):
    """A token just issued: its metadata and ``token``, the secret, shown this once and never
    stored (so the record the services keep has no such field)."""

    token: str


class AuditEntryResponse(BaseModel):
    """An audit entry as the API publishes it: :class:`~andon.audit.chain.Entry` without
    ``change_digest``, which only the chain's verification reads (``POST /audit/verify``
    reports whether it holds)."""

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


class BoardResponse(BaseModel):
    """The andon board: one light per area and the worst of them."""

    board: Color = Field(description="The worst light.")
    areas: list[Light]


# Named pages: the OpenAPI document (and clients generated from it) say TeamPage, not Page_Team_.


class PrincipalPage(Page[PrincipalRecord]):
    """A page of principals."""


class TeamPage(Page[TeamRecord]):
    """A page of teams."""


class BindingPage(Page[BindingRecord]):
    """A page of role bindings."""


class TokenPage(Page[TokenRecord]):
    """A page of token metadata."""


class AssetPage(Page[AssetRecord]):
    """A page of assets."""


class AuditPage(Page[AuditEntryResponse]):
    """A page of audit entries."""


class EventPage(Page[Event]):
    """A page of outbox events."""
