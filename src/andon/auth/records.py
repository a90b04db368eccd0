"""Typed records the auth services return (never ORM objects)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from andon.core.records import published


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class _Record:
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


@published
@dataclass(frozen=True)
class PrincipalRecord(_Record):
    id: str
    name: str
    kind: str
    display_name: str
    email: str | None
    disabled: bool
    created_at: datetime


@published
@dataclass(frozen=True)
class MemberRecord(_Record):
    name: str
    owner: bool


@published
@dataclass(frozen=True)
class TeamRecord(_Record):
    id: str
    name: str
    description: str
    members: list[MemberRecord]
    created_at: datetime

    @property
    def owners(self) -> list[str]:
        """Names of the team's owners."""
        return [m.name for m in self.members if m.owner]


@published
@dataclass(frozen=True)
class BindingRecord(_Record):
    id: str
    principal: str
    role: str
    scope: str
    scope_id: str | None
    scope_name: str | None
    created_at: datetime


@published
@dataclass(frozen=True)
class TokenRecord(_Record):
    id: str
    principal: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@published
@dataclass(frozen=True)
class AssetRecord(_Record):
    id: str
    kind: str
    name: str
    team: str
    created_at: datetime


@published
@dataclass(frozen=True)
class RotationRecord(_Record):
    id: str
    team: str
    name: str
    members: list[str]
    timezone: str
    handoff: str
    period_hours: int
    starts_on: str


@published
@dataclass(frozen=True)
class OnCallRecord(_Record):
    team: str
    rotation: str
    principal: str
    shift_start: datetime
    shift_end: datetime
    at: datetime


@published
@dataclass(frozen=True)
class RungRecord(_Record):
    level: str
    principal: str
    via: str
