"""On-call arithmetic, rotations, and the escalation ladder."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from andon.auth import service as auth
from andon.auth.oncall import Shift, shift_at
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.store.tables import audit as t

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def hours(shift: Shift) -> float:
    return (shift.end - shift.start) / timedelta(hours=1)


# --------------------------------------------------------------------------- pure arithmetic

ABC = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("at", "member", "index", "start"),
    [
        (utc(2026, 1, 5, 9), "a", 0, utc(2026, 1, 5, 9)),
        (utc(2026, 1, 8, 23, 59), "a", 0, utc(2026, 1, 5, 9)),
        (utc(2026, 1, 12, 8, 59, 59, 999999), "a", 0, utc(2026, 1, 5, 9)),
        (utc(2026, 1, 12, 9), "b", 1, utc(2026, 1, 12, 9)),  # exactly at handoff: the new one
        (utc(2026, 1, 19, 9), "c", 2, utc(2026, 1, 19, 9)),
        (utc(2026, 1, 28, 12), "a", 3, utc(2026, 1, 26, 9)),  # wraps around
        (utc(2027, 1, 4, 9), "b", 52, utc(2027, 1, 4, 9)),
    ],
)
def test_weekly_rotation(at: datetime, member: str, index: int, start: datetime) -> None:
    shift = shift_at(ABC, "UTC", "09:00", 168, "2026-01-05", at)
    assert (shift.member, shift.index, shift.start) == (member, index, start)
    assert shift.end == start + timedelta(days=7)


def test_daily_rotation() -> None:
    days = [
        shift_at(["a", "b"], "UTC", "18:30", 24, "2026-02-01", utc(2026, 2, d, 20))
        for d in (1, 2, 3, 4)
    ]
    assert [s.member for s in days] == ["a", "b", "a", "b"]
    assert [s.start for s in days] == [utc(2026, 2, d, 18, 30) for d in (1, 2, 3, 4)]
    assert all(hours(s) == 24 for s in days)
    # Just before the 18:30 handoff, yesterday's shift still holds.
    assert (
        shift_at(["a", "b"], "UTC", "18:30", 24, "2026-02-01", utc(2026, 2, 2, 18, 29)).member
        == "a"
    )


def test_twelve_hour_shifts() -> None:
    morning = shift_at(["day", "night"], "UTC", "07:00", 12, "2026-01-01", utc(2026, 1, 1, 12))
    evening = shift_at(["day", "night"], "UTC", "07:00", 12, "2026-01-01", utc(2026, 1, 1, 22))
    assert (morning.member, morning.end) == ("day", utc(2026, 1, 1, 19))
    assert (evening.member, evening.start, evening.end) == (
        "night",
        utc(2026, 1, 1, 19),
        utc(2026, 1, 2, 7),
    )


def test_paris_handoff_stays_at_nine_local_when_summer_time_ends() -> None:
    """2026-10-25: Paris goes from CEST (+2) to CET (+1); 09:00 local moves from 07:00Z to 08:00Z."""
    before = shift_at(["a", "b"], "Europe/Paris", "09:00", 24, "2026-10-20", utc(2026, 10, 24, 12))
    assert (before.member, before.index) == ("a", 4)
    assert (before.start, before.end) == (utc(2026, 10, 24, 7), utc(2026, 10, 25, 8))
    assert hours(before) == 25
    # At 07:00Z on the 25th it is only 08:00 local: the old shift still holds until 08:00Z.
    assert (
        shift_at(["a", "b"], "Europe/Paris", "09:00", 24, "2026-10-20", utc(2026, 10, 25, 7)).index
        == 4
    )
    after = shift_at(["a", "b"], "Europe/Paris", "09:00", 24, "2026-10-20", utc(2026, 10, 25, 8))
    assert (after.member, after.index, after.start) == ("b", 5, utc(2026, 10, 25, 8))
    assert hours(after) == 24
    for shift in (before, after):
        assert shift.start.astimezone(PARIS).time() == time(9, 0)
        assert shift.end.astimezone(PARIS).time() == time(9, 0)
    weekly = shift_at(ABC, "Europe/Paris", "09:00", 168, "2026-10-19", utc(2026, 10, 25, 12))
    assert (weekly.start, weekly.end) == (utc(2026, 10, 19, 7), utc(2026, 10, 26, 8))
    assert hours(weekly) == 169


def test_paris_handoff_stays_at_nine_local_when_summer_time_starts() -> None:
    """2026-03-29: Paris goes from CET (+1) to CEST (+2); 09:00 local moves from 08:00Z to 07:00Z."""
    short = shift_at(["a", "b"], "Europe/Paris", "09:00", 24, "2026-03-25", utc(2026, 3, 28, 12))
    assert (short.start, short.end) == (utc(2026, 3, 28, 8), utc(2026, 3, 29, 7))
    assert hours(short) == 23
    assert shift_at(
        ["a", "b"], "Europe/Paris", "09:00", 24, "2026-03-25", utc(2026, 3, 29, 7)
    ).start == utc(2026, 3, 29, 7)
    weekly = shift_at(ABC, "Europe/Paris", "09:00", 168, "2026-03-23", utc(2026, 3, 29, 12))
    assert (weekly.start, weekly.end) == (utc(2026, 3, 23, 8), utc(2026, 3, 30, 7))
    assert hours(weekly) == 167
    assert weekly.end.astimezone(PARIS).time() == time(9, 0)


def test_new_york() -> None:
    """US daylight saving ends 2026-11-01 and starts 2026-03-08 (09:00 EDT = 13:00Z, EST = 14:00Z)."""
    fall = shift_at(["a", "b"], "America/New_York", "09:00", 24, "2026-10-01", utc(2026, 11, 1, 12))
    assert (fall.start, fall.end) == (utc(2026, 10, 31, 13), utc(2026, 11, 1, 14))
    spring = shift_at(ABC, "America/New_York", "09:00", 168, "2026-03-02", utc(2026, 3, 5))
    assert (spring.start, spring.end) == (utc(2026, 3, 2, 14), utc(2026, 3, 9, 13))
    assert spring.end.astimezone(NEW_YORK).time() == time(9, 0)
    # Same instant, different zone, different answer: 13:30Z is 09:30 EDT but 08:30 EST.
    summer = shift_at(
        ["a", "b"], "America/New_York", "09:00", 24, "2026-07-01", utc(2026, 7, 2, 13, 30)
    )
    winter = shift_at(
        ["a", "b"], "America/New_York", "09:00", 24, "2026-12-01", utc(2026, 12, 2, 13, 30)
    )
    assert (summer.index, winter.index) == (1, 0)


def test_before_the_start_date_the_cycle_extends_backwards() -> None:
    day_before = shift_at(ABC, "UTC", "09:00", 168, "2026-01-05", utc(2026, 1, 4, 12))
    assert (day_before.member, day_before.index) == ("c", -1)
    assert (day_before.start, day_before.end) == (utc(2025, 12, 29, 9), utc(2026, 1, 5, 9))
    earlier = shift_at(ABC, "UTC", "09:00", 168, "2026-01-05", utc(2025, 12, 20))
    assert (earlier.member, earlier.index, earlier.start) == ("a", -3, utc(2025, 12, 15, 9))
    # The very start date, an hour before the first handoff.
    assert shift_at(ABC, "UTC", "09:00", 168, "2026-01-05", utc(2026, 1, 5, 8)).index == -1


def test_a_skipped_handoff_time_hands_off_after_the_jump() -> None:
    """02:30 does not exist in Paris on 2026-03-29; that handoff happens at 03:30 CEST (01:30Z).

    Between the jump (01:00Z) and 01:30Z the wall clock already reads past 02:30, yet the
    previous shift still holds: the answer's shift must contain the instant.
    """
    at = utc(2026, 3, 29, 1, 15)
    shift = shift_at(["a", "b"], "Europe/Paris", "02:30", 24, "2026-03-25", at)
    assert (shift.start, shift.end) == (utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30))
    assert shift.start <= at < shift.end
    nxt = shift_at(["a", "b"], "Europe/Paris", "02:30", 24, "2026-03-25", shift.end)
    assert nxt.index == shift.index + 1
    assert nxt.start.astimezone(PARIS).time() == time(3, 30)


def test_a_repeated_handoff_time_hands_off_at_its_first_occurrence() -> None:
    """02:30 happens twice in Paris on 2026-10-25 (00:30Z in CEST, 01:30Z in CET)."""
    first = shift_at(
        ["a", "b"], "Europe/Paris", "02:30", 24, "2026-10-20", utc(2026, 10, 25, 0, 30)
    )
    assert first.start == utc(2026, 10, 25, 0, 30)
    # 01:15Z reads 02:15 (the second time round), before 02:30 on the wall, but after the handoff.
    again = shift_at(
        ["a", "b"], "Europe/Paris", "02:30", 24, "2026-10-20", utc(2026, 10, 25, 1, 15)
    )
    assert again == first
    assert first.end == utc(2026, 10, 26, 1, 30)


def test_naive_instants_are_utc_and_aware_ones_any_zone() -> None:
    aware = shift_at(ABC, "UTC", "09:00", 168, "2026-01-05", utc(2026, 1, 12, 9))
    naive = shift_at(ABC, "UTC", "09:00", 168, "2026-01-05", datetime(2026, 1, 12, 9))
    tokyo = shift_at(
        ABC,
        "UTC",
        "09:00",
        168,
        "2026-01-05",
        datetime(2026, 1, 12, 18, tzinfo=ZoneInfo("Asia/Tokyo")),
    )
    assert aware == naive == tokyo
    assert aware.start.tzinfo is UTC


@pytest.mark.parametrize(
    ("members", "timezone", "handoff", "period", "starts_on", "field"),
    [
        ([], "UTC", "09:00", 168, "2026-01-05", "members"),
        (ABC, "Mars/Olympus_Mons", "09:00", 168, "2026-01-05", "timezone"),
        (ABC, "Europe", "09:00", 168, "2026-01-05", "timezone"),  # a directory
        (ABC, "europe/paris", "09:00", 168, "2026-01-05", "timezone"),
        (ABC, "", "09:00", 168, "2026-01-05", "timezone"),
        (ABC, "../etc/passwd", "09:00", 168, "2026-01-05", "timezone"),
        (ABC, "x" * 300, "09:00", 168, "2026-01-05", "timezone"),
        (ABC, "localtime", "09:00", 168, "2026-01-05", "timezone"),
        (ABC, "UTC", "9:00", 168, "2026-01-05", "handoff"),
        (ABC, "UTC", "24:00", 168, "2026-01-05", "handoff"),
        (ABC, "UTC", "09:60", 168, "2026-01-05", "handoff"),
        (ABC, "UTC", "0900", 168, "2026-01-05", "handoff"),
        (ABC, "UTC", "", 168, "2026-01-05", "handoff"),
        (ABC, "UTC", "09:00", 0, "2026-01-05", "period_hours"),
        (ABC, "UTC", "09:00", -24, "2026-01-05", "period_hours"),
        (ABC, "UTC", "09:00", 2161, "2026-01-05", "period_hours"),
        (ABC, "UTC", "09:00", 168, "2026-13-01", "starts_on"),
        (ABC, "UTC", "09:00", 168, "2026-02-30", "starts_on"),
        (ABC, "UTC", "09:00", 168, "20260105", "starts_on"),
        (ABC, "UTC", "09:00", 168, "2026-W02-1", "starts_on"),
        (ABC, "UTC", "09:00", 168, "next monday", "starts_on"),
    ],
)
def test_invalid_rotation_names_the_field(
    members: list[str], timezone: str, handoff: str, period: int, starts_on: str, field: str
) -> None:
    with pytest.raises(Invalid) as err:
        shift_at(members, timezone, handoff, period, starts_on, utc(2026, 1, 5))
    assert err.value.field == field


def test_an_instant_out_of_range_is_invalid() -> None:
    with pytest.raises(Invalid) as err:
        shift_at(ABC, "UTC", "09:00", 168, "2026-01-05", datetime.max.replace(tzinfo=UTC))
    assert err.value.field == "at"


ZONES = [
    "UTC",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",  # transitions at midnight (until 2019)
    "Australia/Lord_Howe",  # a 30-minute daylight-saving shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # summer time suspended for Ramadan
    "Asia/Kolkata",
]


def _transitions(zone: str) -> list[datetime]:
    """Instants (to the second) where ``zone``'s UTC offset changes, 2000-2040."""
    tz = ZoneInfo(zone)
    out = []
    day = utc(2000, 1, 1, 12)
    offset = day.astimezone(tz).utcoffset()
    while day < utc(2040, 1, 1):
        nxt = day + timedelta(days=1)
        if (nxt_offset := nxt.astimezone(tz).utcoffset()) != offset:
            lo, hi = int(day.timestamp()), int(nxt.timestamp())  # the change is in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                changed = datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == nxt_offset
                lo, hi = (lo, mid) if changed else (mid, hi)
            out.append(datetime.fromtimestamp(hi, UTC))
        day, offset = nxt, nxt_offset
    return out


DST_ZONES = [z for z in ZONES if z not in ("UTC", "Asia/Kolkata")]
TRANSITIONS = {zone: _transitions(zone) for zone in DST_ZONES}


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    return wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def check_shift(
    members: list[str], timezone: str, handoff: time, period: int, starts_on: date, at: datetime
) -> None:
    """The properties every answer has."""
    args = (members, timezone, handoff.strftime("%H:%M"), period, starts_on.isoformat())
    shift = shift_at(*args, at)
    assert shift.start <= at < shift.end
    assert shift.member == members[shift.index % len(members)]
    # A shift lasts its period, give or take a daylight-saving change (at most an hour here).
    assert abs(shift.end - shift.start - timedelta(hours=period)) <= timedelta(hours=1)
    # It starts at the index-th handoff on the wall clock, whenever that wall time exists.
    tz = ZoneInfo(timezone)
    wall = datetime.combine(starts_on, handoff) + shift.index * timedelta(hours=period)
    if _exists(wall, tz):
        assert shift.start.astimezone(tz).replace(tzinfo=None) == wall
    # Neighbouring instants agree: the start is in this shift, the end in a later one.
    assert shift_at(*args, shift.start) == shift
    later = shift_at(*args, shift.end)
    assert later.index > shift.index
    assert later.start == shift.end


MEMBERS = st.lists(st.sampled_from(["ana", "ben", "cy", "dee", "eli"]), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None, database=None)
@given(
    members=MEMBERS,
    timezone=st.sampled_from(ZONES),
    handoff=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    period=st.one_of(st.sampled_from([1, 8, 12, 24, 48, 168, 336]), st.integers(1, 2160)),
    starts_on=st.dates(date(2000, 1, 1), date(2035, 12, 31)),
    at=st.datetimes(datetime(1995, 1, 1), datetime(2045, 1, 1), timezones=st.just(UTC)),
)
def test_the_answer_holds_for_any_instant(
    members: list[str], timezone: str, handoff: time, period: int, starts_on: date, at: datetime
) -> None:
    check_shift(members, timezone, handoff, period, starts_on, at)


@st.composite
def near_a_clock_change(draw: st.DrawFn) -> tuple[str, time, int, date, datetime]:
    """A rotation whose handoff falls close to a daylight-saving change, and an instant near it."""
    zone = draw(st.sampled_from(DST_ZONES))
    moment = draw(st.sampled_from(TRANSITIONS[zone]))
    wall = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    handoff = (wall + timedelta(minutes=draw(st.integers(-120, 120)))).time()
    period = draw(st.sampled_from([1, 2, 3, 12, 24, 48, 168]))
    starts_on = wall.date() - timedelta(days=draw(st.integers(0, 30)))
    at = moment + timedelta(minutes=draw(st.integers(-26 * 60, 26 * 60)))
    return zone, handoff.replace(second=0, microsecond=0), period, starts_on, at


@settings(max_examples=500, deadline=None, database=None)
@given(members=MEMBERS, case=near_a_clock_change())
def test_the_answer_holds_around_clock_changes(
    members: list[str], case: tuple[str, time, int, date, datetime]
) -> None:
    zone, handoff, period, starts_on, at = case
    check_shift(members, zone, handoff, period, starts_on, at)


def test_the_clock_changes_are_found() -> None:
    assert utc(2026, 3, 29, 1) in TRANSITIONS["Europe/Paris"]
    assert utc(2026, 10, 25, 1) in TRANSITIONS["Europe/Paris"]
    assert utc(2026, 11, 1, 6) in TRANSITIONS["America/New_York"]


# --------------------------------------------------------------------------- the service


def audit_count(ctx: Context) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(t.AuditEntry)) or 0)


@pytest.fixture
def team(admin: Context) -> str:
    """fraud-ml with a weekly Paris rotation [alice, bob] from Monday 2026-10-19 09:00."""
    for name in ("alice", "bob", "carol", "dara", "emil"):
        auth.create_principal(admin, name)
    auth.create_team(admin, "fraud-ml", owners=["alice"])
    auth.set_rotation(
        admin,
        "fraud-ml",
        "primary",
        ["alice", "bob"],
        timezone="Europe/Paris",
        handoff="09:00",
        period_hours=168,
        starts_on="2026-10-19",
    )
    return "fraud-ml"


ALICE_WEEK = utc(2026, 10, 25, 12)  # shift 0: 2026-10-19 07:00Z to 2026-10-26 08:00Z
BOB_WEEK = utc(2026, 10, 26, 8)  # shift 1 starts at 09:00 CET


def test_oncall_answers_who_is_paged(admin: Context, team: str) -> None:
    first = auth.oncall(admin, team, at=ALICE_WEEK)
    assert (first.team, first.rotation, first.principal) == (team, "primary", "alice")
    assert (first.shift_start, first.shift_end, first.at) == (
        utc(2026, 10, 19, 7),
        utc(2026, 10, 26, 8),
        ALICE_WEEK,
    )
    assert auth.oncall(admin, team, at=BOB_WEEK).principal == "bob"
    assert auth.oncall(admin, team, at=BOB_WEEK - timedelta(microseconds=1)).principal == "alice"
    # Naive instants are UTC; aware ones come back in UTC.
    assert auth.oncall(admin, team, at=datetime(2026, 10, 26, 8)).principal == "bob"
    tokyo = auth.oncall(admin, team, at=datetime(2026, 10, 26, 17, tzinfo=ZoneInfo("Asia/Tokyo")))
    assert (tokyo.principal, tokyo.at) == ("bob", BOB_WEEK)
    assert first.as_dict()["shift_start"] == "2026-10-19T07:00:00+00:00"


def test_oncall_defaults_to_the_clock(admin: Context, team: str, clock: FrozenClock) -> None:
    # The clock fixture reads Monday 2026-11-23 08:00Z, 09:00 in Paris: a handoff (shift 5).
    now = auth.oncall(admin, team)
    assert (now.principal, now.shift_start, now.at) == ("bob", clock.now(), clock.now())
    clock.advance(days=7)
    assert auth.oncall(admin, team).principal == "alice"


def test_oncall_picks_a_rotation(admin: Context, team: str) -> None:
    auth.set_rotation(admin, team, "secondary", ["carol"], starts_on="2026-01-01")
    # Without a name, the first rotation by name answers.
    assert auth.oncall(admin, team, at=ALICE_WEEK).rotation == "primary"
    assert auth.oncall(admin, team, at=ALICE_WEEK, rotation="secondary").principal == "carol"
    assert [r.name for r in auth.list_rotations(admin, team)] == ["primary", "secondary"]


def test_oncall_errors(admin: Context, team: str) -> None:
    with pytest.raises(NotFound) as err:
        auth.oncall(admin, "nope", at=ALICE_WEEK)
    assert err.value.field == "team"
    auth.create_team(admin, "lonely")
    with pytest.raises(NotFound) as err:
        auth.oncall(admin, "lonely", at=ALICE_WEEK)
    assert err.value.field == "rotation"
    assert "no on-call rotation" in str(err.value)
    with pytest.raises(NotFound) as err:
        auth.oncall(admin, team, at=ALICE_WEEK, rotation="tertiary")
    assert err.value.field == "rotation"


def test_replacing_a_rotation_keeps_its_identity(admin: Context, team: str) -> None:
    before = auth.list_rotations(admin, team)[0]
    after = auth.set_rotation(
        admin,
        team,
        "primary",
        ["carol", "dara"],
        timezone="UTC",
        period_hours=24,
        starts_on="2026-10-25",
    )
    assert after.id == before.id
    assert auth.list_rotations(admin, team) == [after]
    assert auth.oncall(admin, team, at=utc(2026, 10, 26, 12)).principal == "dara"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"handoff": "25:00"}, "handoff"),
        ({"starts_on": "2026/10/19"}, "starts_on"),
        ({"period_hours": 0}, "period_hours"),
        ({"period_hours": 24 * 91}, "period_hours"),
        ({"members": []}, "members"),
        ({"name": "Primary Rota"}, "name"),
    ],
)
def test_set_rotation_rejects_bad_input(
    admin: Context, team: str, change: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {
        "name": "new",
        "members": ["alice"],
        "starts_on": "2026-01-01",
        **change,
    }
    before = audit_count(admin)
    with pytest.raises(Invalid) as err:
        auth.set_rotation(admin, team, **args)  # type: ignore[arg-type]
    assert err.value.field == field
    assert audit_count(admin) == before


def test_set_rotation_needs_known_members_and_team(admin: Context, team: str) -> None:
    before = audit_count(admin)
    with pytest.raises(NotFound) as err:
        auth.set_rotation(admin, team, "new", ["alice", "ghost"], starts_on="2026-01-01")
    assert err.value.field == "principal"
    with pytest.raises(NotFound) as err:
        auth.set_rotation(admin, "nope", "new", ["alice"], starts_on="2026-01-01")
    assert err.value.field == "team"
    assert audit_count(admin) == before
    assert [r.name for r in auth.list_rotations(admin, team)] == ["primary"]


def test_escalation_ladder_resolves_rotations_at_the_time(admin: Context, team: str) -> None:
    # Set out of order: the ladder is always model owner, platform owner, risk owner.
    auth.set_escalation(admin, team, "risk-owner", principal="dara")
    auth.set_escalation(admin, team, "platform-owner", principal="emil")
    auth.set_escalation(admin, team, "model-owner", rotation="primary")
    ladder = auth.escalation(admin, team, at=ALICE_WEEK)
    assert [(r.level, r.principal, r.via) for r in ladder] == [
        ("model-owner", "alice", "rotation primary"),
        ("platform-owner", "emil", "principal"),
        ("risk-owner", "dara", "principal"),
    ]
    assert auth.escalation(admin, team, at=BOB_WEEK)[0].principal == "bob"
    assert auth.escalation(admin, team)[0].principal == "bob"  # the clock: shift 5
    # The rung follows the rotation when its members change.
    auth.set_rotation(admin, team, "primary", ["carol"], starts_on="2026-10-19")
    assert auth.escalation(admin, team, at=ALICE_WEEK)[0].principal == "carol"


def test_escalation_rungs_can_be_partial_and_replaced(admin: Context, team: str) -> None:
    assert auth.escalation(admin, team) == []
    ladder = auth.set_escalation(admin, team, "risk-owner", rotation="primary")
    assert [(r.level, r.via) for r in ladder] == [("risk-owner", "rotation primary")]
    ladder = auth.set_escalation(admin, team, "risk-owner", principal="carol")
    assert [(r.level, r.principal, r.via) for r in ladder] == [("risk-owner", "carol", "principal")]


def test_escalation_errors(admin: Context, team: str) -> None:
    auth.create_team(admin, "other")
    auth.set_rotation(admin, "other", "theirs", ["carol"], starts_on="2026-01-01")
    before = audit_count(admin)
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"team": team, "level": "ceo", "principal": "dara"}, Invalid, "level"),
        ({"team": team, "level": "risk-owner"}, Invalid, "principal"),
        (
            {"team": team, "level": "risk-owner", "principal": "dara", "rotation": "primary"},
            Invalid,
            "principal",
        ),
        ({"team": team, "level": "risk-owner", "rotation": "nope"}, NotFound, "rotation"),
        ({"team": team, "level": "risk-owner", "rotation": "theirs"}, NotFound, "rotation"),
        ({"team": team, "level": "risk-owner", "principal": "ghost"}, NotFound, "principal"),
        ({"team": "nope", "level": "risk-owner", "principal": "dara"}, NotFound, "team"),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error) as err:
            auth.set_escalation(admin, **kwargs)  # type: ignore[arg-type]
        assert getattr(err.value, "field", None) == field, kwargs
    assert audit_count(admin) == before
    with pytest.raises(NotFound) as err:
        auth.escalation(admin, "nope")
    assert err.value.field == "team"
