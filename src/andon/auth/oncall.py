"""On-call arithmetic: who holds a rotation at a given instant.

A rotation is an ordered list of members, a period (hours) and a first handoff: ``starts_on``
at ``handoff`` wall-clock time in the rotation's timezone. Handoff ``k`` is at wall-clock time
``starts_on + handoff + k * period`` *in that timezone*, so a 09:00 Europe/Paris handoff stays
at 09:00 local across daylight-saving changes (that week's shift is an hour shorter or
longer in real time). Shift ``k`` runs from handoff ``k`` (inclusive) to handoff ``k + 1``
(exclusive) and belongs to ``members[k % len(members)]``.

A wall-clock time that does not exist (the hour skipped in spring) is read with the offset
from before the jump, so a 02:30 handoff on that night happens at 03:30 local; a time that
happens twice (the hour repeated in autumn) hands off at its first occurrence. Handoffs stay
in order, and the answer's shift always contains the instant asked about. The cycle also
extends backwards: ``starts_on`` anchors who is on call when rather than
switching the rotation on, so an instant before it still has an answer (negative ``k``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andon.core.clock import as_utc
from andon.core.errors import Invalid

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_PERIOD_HOURS = 24 * 90


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA timezone, or :class:`Invalid` naming the field.

    ``localtime`` is refused: it means whatever machine happens to evaluate the rotation.
    """
    try:
        if name == "localtime":
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a directory such as "Europe", or a name too long for the filesystem.
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
    """``YYYY-MM-DD`` (only that form: it is stored and shown as given)."""
    try:
        if not _DAY.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"'{value}' is not a date as YYYY-MM-DD", field="starts_on") from None


def check_period(hours: int) -> int:
    """A shift length in whole hours, from one hour to ninety days."""
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_PERIOD_HOURS:
        raise Invalid(f"must be between 1 and {MAX_PERIOD_HOURS} hours", field="period_hours")
    return hours


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
    """The shift covering instant ``at`` (naive values are taken as UTC)."""
    if not members:
        raise Invalid("a rotation needs at least one member", field="members")
    tz = parse_timezone(timezone)
    first = datetime.combine(parse_day(starts_on), parse_handoff(handoff))
    period = timedelta(hours=check_period(period_hours))
    at = as_utc(at)

    def handoff_at(k: int) -> datetime:
        # fold=0: a skipped time takes the offset from before the jump (02:30 -> 03:30),
        # a repeated one its first occurrence.
        return (first + k * period).replace(tzinfo=tz).astimezone(UTC)

    try:
        # Wall-clock arithmetic is right up to a DST offset; then step to the exact shift.
        k = (at.astimezone(tz).replace(tzinfo=None) - first) // period
        while handoff_at(k) > at:
            k -= 1
        while handoff_at(k + 1) <= at:
            k += 1
        start, end = handoff_at(k), handoff_at(k + 1)
    except OverflowError:
        raise Invalid(
            f"{at.isoformat()} is too far from the rotation's start", field="at"
        ) from None
    return Shift(member=members[k % len(members)], index=k, start=start, end=end)
