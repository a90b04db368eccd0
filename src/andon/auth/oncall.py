"""On-call arithmetic: who holds a rotation at a given instant.

Shifts hand off at a wall-clock time in the rotation's timezone, so a 09:00 Europe/Paris
handoff stays at 09:00 local across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andon.core.errors import Invalid

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA timezone, or :class:`Invalid` naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"'{name}' is not an IANA timezone such as UTC or Europe/Paris", field="timezone"
        ) from None


def parse_handoff(value: str) -> time:
    """``HH:MM`` in 24-hour form."""
    match = _HHMM.match(value)
    if not match:
        raise Invalid(f"'{value}' is not a time of day as HH:MM", field="handoff")
    return time(int(match.group(1)), int(match.group(2)))


def parse_day(value: str) -> date:
    """``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"'{value}' is not a date as YYYY-MM-DD", field="starts_on") from None


@dataclass(frozen=True)
class Shift:
    """One member's turn: ``[start, end)`` in UTC."""

    member: str
    index: int
    start: datetime
    end: datetime


def shift_at(
    members: list[str],
    timezone: str,
    handoff: str,
    period_hours: int,
    starts_on: str,
    at: datetime,
) -> Shift:
    """The shift covering instant ``at`` (aware) for the rotation described."""
    if not members:
        raise Invalid("a rotation needs at least one member", field="members")
    tz = parse_timezone(timezone)
    start_wall = datetime.combine(parse_day(starts_on), parse_handoff(handoff))
    local_wall = at.astimezone(tz).replace(tzinfo=None)
    period = timedelta(hours=period_hours)
    index = (local_wall - start_wall) // period
    shift_start = start_wall + index * period
    return Shift(
        member=members[index % len(members)],
        index=index,
        start=shift_start.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")),
        end=(shift_start + period).replace(tzinfo=tz).astimezone(ZoneInfo("UTC")),
    )
