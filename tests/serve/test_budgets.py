"""The budget ledger never overspends, never refuses what fits, and leaks nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.core.errors import BudgetExceeded, Forbidden
from andon.serve import budgets as ledger
from andon.serve import service
from andon.serve.spec import NANOS, Budget, Cost, EndpointSpec, Upstream
from andon.store import outbox
from andon.store.db import Database
from andon.store.tables import serve as s
from tests.conftest import as_principal

USD = NANOS


def _llm(**cost: int) -> EndpointSpec:
    return EndpointSpec(
        name="bot",
        team="support",
        kind="llm",
        upstreams=(Upstream("http://127.0.0.1:8001/v1", None, None),),
        cost=Cost(**cost),
    )


def _reserve(db: Database, clock: FrozenClock, amount: int, *budgets: Budget, **who: str) -> Any:
    return ledger.reserve(
        db,
        clock,
        endpoint=who.get("endpoint", "bot"),
        team=who.get("team", "support"),
        principal=who.get("principal", "alice"),
        budgets=list(budgets),
        amount_nanos=amount,
    )


def _windows(db: Database) -> dict[tuple[str, str, str, str], tuple[int, int, int]]:
    with db.read() as session:
        return {
            (w.scope, w.key, w.period, w.window): (w.limit_nanos, w.spent_nanos, w.reserved_nanos)
            for w in session.scalars(select(s.BudgetWindow))
        }


def _events(db: Database, type_: str) -> list[outbox.Event]:
    with db.read() as session:
        return outbox.list_events(session, type_=type_, limit=1000)


# --- cost model -----------------------------------------------------------------------


def test_estimate_is_the_worst_case_in_exact_nanodollars() -> None:
    spec = _llm(per_request=100_000, per_input_token=500, per_output_token=1500)
    body = {"messages": [{"role": "user", "content": "x" * 9}], "max_tokens": 10}
    # "user" (4) + 9 chars = 13 -> 4 tokens (rounded up)
    assert ledger.estimate(spec, body) == 100_000 + 4 * 500 + 10 * 1500
    parts = {"messages": [{"role": "u", "content": [{"type": "text", "text": "abcdefg"}]}]}
    assert ledger.estimate(spec, {**parts, "max_completion_tokens": 3}) == (
        100_000 + 3 * 500 + 3 * 1500  # "u" + "text" + "abcdefg" = 12 chars -> 3 tokens
    )
    # No max_tokens: the spec's cap (4096 by default).
    assert ledger.estimate(spec, {"prompt": "abcd"}) == 100_000 + 500 + 4096 * 1500
    capped = EndpointSpec(
        name="bot", team="support", kind="llm", cost=Cost(per_output_token=2, max_output_tokens=7)
    )
    assert ledger.estimate(capped, {"prompt": "hi"}) == 14
    model = EndpointSpec(name="m", team="t", kind="model", model="m", cost=Cost(per_request=20))
    assert ledger.estimate(model, {"instances": ["x" * 400]}) == 20
    assert ledger.estimate(_llm(), {"prompt": "x" * 99}) == 0


def test_cost_of_reads_the_upstream_usage() -> None:
    spec = _llm(per_request=7, per_input_token=3, per_output_token=5)
    assert ledger.cost_of(spec, {"prompt_tokens": 10, "completion_tokens": 4}) == 7 + 30 + 20
    assert ledger.cost_of(spec, None) == 7
    assert ledger.cost_of(spec, {"prompt_tokens": "x", "completion_tokens": True}) == 7


def test_usd_text_is_exact() -> None:
    assert ledger.usd(5 * USD) == "5.00"
    assert ledger.usd(100_000) == "0.0001"
    assert ledger.usd(1) == "0.000000001"
    assert ledger.usd(123_450_000_000) == "123.45"


# --- the ledger -----------------------------------------------------------------------


def test_reserve_settle_release_exact_arithmetic(db: Database, clock: FrozenClock) -> None:
    day = Budget("endpoint", "day", 1000)
    month = Budget("team", "month", 5000)
    mine = Budget("principal", "day", 600)
    r1 = _reserve(db, clock, 400, day, month, mine)
    assert _windows(db) == {
        ("endpoint", "bot", "day", "2026-11-23"): (1000, 0, 400),
        ("team", "support", "month", "2026-11"): (5000, 0, 400),
        ("principal", "alice", "day", "2026-11-23"): (600, 0, 400),
    }
    # Actual above what was held is capped at it; below it, the rest is freed.
    assert ledger.settle(db, clock, r1, 999) == 400
    r2 = _reserve(db, clock, 200, day, month, mine)
    assert ledger.settle(db, clock, r2, 150) == 150
    assert _windows(db)[("principal", "alice", "day", "2026-11-23")] == (600, 550, 0)
    # alice has 50 left; bob still fits on the endpoint's 450.
    with pytest.raises(BudgetExceeded):
        _reserve(db, clock, 51, day, month, mine)
    r3 = _reserve(db, clock, 50, day, month, mine)
    ledger.release(db, r3)
    r4 = _reserve(db, clock, 450, day, month, mine, principal="bob")
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (1000, 550, 450)
    ledger.release(db, r4)
    ledger.release(db, r4)  # twice: the second finds nothing to free
    assert _windows(db) == {
        ("endpoint", "bot", "day", "2026-11-23"): (1000, 550, 0),
        ("team", "support", "month", "2026-11"): (5000, 550, 0),
        ("principal", "alice", "day", "2026-11-23"): (600, 550, 0),
        ("principal", "bob", "day", "2026-11-23"): (600, 0, 0),
    }
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(s.BudgetReservation)) == 0


def test_a_refusal_names_the_budget_and_reserves_nothing(db: Database, clock: FrozenClock) -> None:
    day = Budget("endpoint", "day", 5 * USD)
    mine = Budget("principal", "day", USD // 2)
    first = _reserve(db, clock, 40 * USD // 100, day, mine)
    ledger.settle(db, clock, first, 40 * USD // 100)
    before = _windows(db)
    with pytest.raises(BudgetExceeded) as raised:
        _reserve(db, clock, USD // 5, day, mine)
    exc = raised.value
    assert exc.http_status == 429 and exc.field == "budgets"
    assert exc.details["budget"] == {
        "endpoint": "bot",
        "scope": "principal",
        "key": "alice",
        "period": "day",
    }
    assert exc.details["limit"] == "0.50" and exc.details["spent"] == "0.40"
    assert exc.details["limit_nanos"] == USD // 2 and exc.details["spent_nanos"] == 4 * USD // 10
    assert exc.details["requested_nanos"] == USD // 5 and exc.details["reserved_nanos"] == 0
    assert exc.details["resets_at"] == "2026-11-24T00:00:00+00:00"
    problem = exc.problem()
    assert problem["type"].endswith("/budget-exceeded") and problem["status"] == 429
    assert problem["resets_at"] == "2026-11-24T00:00:00+00:00"
    # The endpoint window that did fit holds nothing: all or nothing.
    assert _windows(db) == before
    # A month budget resets at the next month's start.
    with pytest.raises(BudgetExceeded) as monthly:
        _reserve(db, clock, 11, Budget("team", "month", 10))
    assert monthly.value.details["resets_at"] == "2026-12-01T00:00:00+00:00"


def test_exactly_the_limit_fits_and_no_budget_writes_nothing(
    db: Database, clock: FrozenClock
) -> None:
    day = Budget("endpoint", "day", 300)
    held = _reserve(db, clock, 300, day)
    assert ledger.settle(db, clock, held, 300) == 300
    with pytest.raises(BudgetExceeded):
        _reserve(db, clock, 1, day)
    free = _reserve(db, clock, 10**12)  # no budget
    assert (
        free.id == ""
        and ledger.extend(db, clock, free, 5)
        and not ledger.settle(db, clock, free, 5)
    )
    assert len(_windows(db)) == 1


def test_extend_stops_a_stream_at_the_limit(db: Database, clock: FrozenClock) -> None:
    day = Budget("endpoint", "day", 100)
    stream = _reserve(db, clock, 30, day)
    assert ledger.extend(db, clock, stream, 50)
    assert not ledger.extend(db, clock, stream, 21)  # 80 held, 21 more would be 101
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (100, 0, 80)
    assert ledger.extend(db, clock, stream, 20)
    assert ledger.settle(db, clock, stream, 95) == 95
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (100, 95, 0)


def test_expired_leases_are_freed_and_extend_renews_them(db: Database, clock: FrozenClock) -> None:
    day = Budget("endpoint", "day", 100)
    dead = _reserve(db, clock, 60, day)
    alive = _reserve(db, clock, 30, day)
    clock.advance(seconds=45)
    assert ledger.extend(db, clock, alive, 0)  # renews alive's lease to +60 s from now
    clock.advance(seconds=20)
    assert ledger.expire_leases(db, clock) == 1
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (100, 0, 30)
    assert ledger.expire_leases(db, clock) == 0
    # The dead worker's late settle charges what still fits, never past the limit.
    assert not ledger.extend(db, clock, dead, 1)
    assert ledger.settle(db, clock, dead, 80) == 70
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (100, 70, 30)
    ledger.settle(db, clock, alive, 30)
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (100, 100, 0)


def test_windows_roll_over_at_utc_midnight_and_month_start(db: Database) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))
    day, month = Budget("endpoint", "day", 10), Budget("team", "month", 15)
    ledger.settle(db, clock, _reserve(db, clock, 10, day, month), 10)
    with pytest.raises(BudgetExceeded) as raised:
        _reserve(db, clock, 1, day, month)
    assert raised.value.details["resets_at"] == "2026-12-01T00:00:00+00:00"
    clock.advance(seconds=1)  # 2026-12-01 00:00:00 UTC: a new day and a new month
    ledger.settle(db, clock, _reserve(db, clock, 10, day, month), 10)
    clock.advance(hours=24)
    with pytest.raises(BudgetExceeded) as monthly:
        _reserve(db, clock, 6, day, month)  # the day has 10, December has 5
    assert monthly.value.details["budget"]["period"] == "month"
    assert monthly.value.details["resets_at"] == "2027-01-01T00:00:00+00:00"
    assert _windows(db) == {
        ("endpoint", "bot", "day", "2026-11-30"): (10, 10, 0),
        ("team", "support", "month", "2026-11"): (15, 10, 0),
        ("endpoint", "bot", "day", "2026-12-01"): (10, 10, 0),
        ("team", "support", "month", "2026-12"): (15, 10, 0),
    }


def test_warning_and_exhausted_events_once_per_window(db: Database, clock: FrozenClock) -> None:
    day = Budget("endpoint", "day", 100)
    ledger.settle(db, clock, _reserve(db, clock, 79, day), 79)
    assert _events(db, "budget.warning") == []
    held = _reserve(db, clock, 1, day)  # 80 %: warned
    ledger.release(db, held)
    ledger.settle(db, clock, _reserve(db, clock, 5, day), 5)  # still above 80 %: no repeat
    (warning,) = _events(db, "budget.warning")
    assert warning.payload["percent"] == 80.0 and warning.payload["scope"] == "endpoint"
    assert warning.payload["resets_at"] == "2026-11-24T00:00:00+00:00"
    assert _events(db, "budget.exhausted") == []
    ledger.settle(db, clock, _reserve(db, clock, 16, day), 16)  # 100 %
    (exhausted,) = _events(db, "budget.exhausted")
    assert exhausted.payload["limit_nanos"] == 100 and exhausted.payload["percent"] == 100.0
    with pytest.raises(BudgetExceeded):
        _reserve(db, clock, 1, day)
    assert len(_events(db, "budget.exhausted")) == 1
    clock.advance(days=1)  # a new window warns again
    _reserve(db, clock, 100, day)
    assert len(_events(db, "budget.warning")) == 2 and len(_events(db, "budget.exhausted")) == 2


# --- a pure-Python model of the ledger, against the real one ----------------------------


class _Model:
    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits
        self.spent = dict.fromkeys(limits, 0)
        self.reserved = dict.fromkeys(limits, 0)

    def fits(self, amount: int) -> bool:
        return all(self.spent[k] + self.reserved[k] + amount <= self.limits[k] for k in self.limits)

    def room(self) -> int:
        return min(self.limits[k] - self.spent[k] - self.reserved[k] for k in self.limits)

    def hold(self, amount: int) -> None:
        for k in self.limits:
            self.reserved[k] += amount

    def close(self, held: int, charged: int) -> None:
        for k in self.limits:
            self.reserved[k] -= held
            self.spent[k] += charged


_STEP = st.one_of(
    st.tuples(st.just("reserve"), st.integers(0, 400)),
    st.tuples(st.just("reserve_room"), st.integers(0, 1)),  # exactly what is left, or 1 more
    st.tuples(st.just("extend"), st.integers(0, 200)),
    st.tuples(st.just("settle"), st.integers(0, 600)),
    st.tuples(st.just("release"), st.just(0)),
    st.tuples(st.just("expire"), st.integers(1, 90)),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    day=st.integers(1, 1000),
    month=st.integers(1, 2000),
    steps=st.lists(_STEP, min_size=1, max_size=25),
)
def test_the_ledger_matches_a_model(
    db: Database, day: int, month: int, steps: list[tuple[str, int]]
) -> None:
    clock = FrozenClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    endpoint = f"e{os.urandom(6).hex()}"  # one fixture database across examples
    budgets = [Budget("endpoint", "day", day), Budget("principal", "month", month)]
    model = _Model({"day": day, "month": month})
    open_: list[tuple[ledger.Reservation, int, datetime]] = []  # (reservation, held, lease)
    for op, n in steps:
        if op == "reserve_room":
            op, n = "reserve", model.room() + n
        if op == "reserve":
            fits = model.fits(n)
            try:
                r = _reserve(db, clock, n, *budgets, endpoint=endpoint)
            except BudgetExceeded:
                assert not fits, "refused a request that fits"
            else:
                assert fits, "admitted a request that does not fit"
                model.hold(n)
                open_.append((r, n, clock.now() + timedelta(seconds=60)))
        elif op == "extend" and open_:
            r, held, _ = open_[-1]
            fits = model.fits(n)
            assert ledger.extend(db, clock, r, n) is fits
            if fits:
                model.hold(n)
                open_[-1] = (r, held + n, clock.now() + timedelta(seconds=60))
        elif op in ("settle", "release") and open_:
            r, held, _ = open_.pop(0)
            if op == "settle":
                assert ledger.settle(db, clock, r, n) == min(n, held)
                model.close(held, min(n, held))
            else:
                ledger.release(db, r)
                model.close(held, 0)
        elif op == "expire":
            clock.advance(seconds=n)
            lapsed = [o for o in open_ if o[2] < clock.now()]
            assert ledger.expire_leases(db, clock) == len(lapsed)
            for o in lapsed:
                open_.remove(o)
                model.close(o[1], 0)
        with db.read() as session:
            rows = {
                w.period: w
                for w in session.scalars(
                    select(s.BudgetWindow).where(s.BudgetWindow.endpoint == endpoint)
                )
            }
        for period, key in (("day", "day"), ("month", "month")):
            if period in rows:
                w = rows[period]
                assert (w.spent_nanos, w.reserved_nanos) == (model.spent[key], model.reserved[key])
                assert w.spent_nanos + w.reserved_nanos <= w.limit_nanos
    for r, _, _ in open_:
        ledger.release(db, r)
    with db.read() as session:
        for w in session.scalars(select(s.BudgetWindow).where(s.BudgetWindow.endpoint == endpoint)):
            assert w.reserved_nanos == 0 and w.spent_nanos <= w.limit_nanos


# --- many processes at once -------------------------------------------------------------


def _worker(url: str, amount: int, limit: int, requests: int, out: Any) -> None:
    """One process: ``requests`` threads each reserve, then settle what they were admitted."""
    db = Database(url)
    clock = FrozenClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    budgets = [Budget("endpoint", "day", limit), Budget("team", "month", limit * 10)]
    admitted = refused = 0
    lock = threading.Lock()
    start = threading.Barrier(requests)

    def one() -> None:
        nonlocal admitted, refused
        start.wait()
        try:
            r = ledger.reserve(
                db, clock, endpoint="bot", team="support", principal="p",
                budgets=budgets, amount_nanos=amount,
            )  # fmt: skip
        except BudgetExceeded:
            with lock:
                refused += 1
            return
        ledger.settle(db, clock, r, amount)
        with lock:
            admitted += 1

    threads = [threading.Thread(target=one) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    out.put((admitted, refused))


def test_concurrent_processes_never_overspend(db: Database, clock: FrozenClock) -> None:
    limit, amount = 10_000, 7
    spent_before = limit - 37 * amount - (amount - 1)  # 37 more fit; a 38th would be 1 over
    held = _reserve(db, clock, spent_before, Budget("endpoint", "day", limit))
    ledger.settle(db, clock, held, spent_before)
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    counts = (67, 67, 66)  # 200 requests
    procs = [spawn.Process(target=_worker, args=(db.url, amount, limit, n, out)) for n in counts]
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    admitted = sum(a for a, _ in results)
    assert sum(r for _, r in results) == 200 - admitted
    assert admitted == 37
    (limit_, spent, reserved) = _windows(db)[("endpoint", "bot", "day", "2026-11-23")]
    assert (limit_, spent, reserved) == (limit, spent_before + 37 * amount, 0)
    assert spent <= limit


def _holder(url: str, ready: Any) -> None:
    """Reserve and never settle: the parent kills this process."""
    db = Database(url)
    clock = FrozenClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    for _ in range(3):
        ledger.reserve(
            db, clock, endpoint="bot", team="support", principal="p",
            budgets=[Budget("endpoint", "day", 100)], amount_nanos=30,
        )  # fmt: skip
    ready.set()
    threading.Event().wait(600)


def test_a_killed_worker_leaks_nothing_after_its_lease(db: Database, clock: FrozenClock) -> None:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    proc = spawn.Process(target=_holder, args=(db.url, ready))
    proc.start()
    assert ready.wait(120)
    os.kill(proc.pid or 0, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    day = Budget("endpoint", "day", 100)
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (100, 0, 90)
    with pytest.raises(BudgetExceeded):
        _reserve(db, clock, 11, day)
    assert ledger.expire_leases(db, clock) == 0  # the lease has not passed yet
    clock.advance(seconds=61)
    assert ledger.expire_leases(db, clock) == 3
    assert _windows(db)[("endpoint", "bot", "day", "2026-11-23")] == (100, 0, 0)
    ledger.settle(db, clock, _reserve(db, clock, 100, day), 100)


# --- reads, the door and the board --------------------------------------------------------

_BOT = """name: bot
team: support
kind: llm
upstreams: [http://127.0.0.1:8001/v1]
cost: {per_request: 0.0001, per_input_token: 0.0000005, per_output_token: 0.0000015}
budgets:
  - {scope: endpoint, period: day, limit: 5.00}
  - {scope: principal, period: day, limit: '0.50'}
"""


def _board(ctx: Context) -> dict[str, tuple[str, str]]:
    from andon.board.service import board

    return {light.area: (light.color, light.detail) for light in board(ctx)}


def test_budget_status_reads_current_windows_with_permission(
    admin: Context, clock: FrozenClock
) -> None:
    auth.create_team(admin, "support")
    auth.create_team(admin, "other")
    spec = EndpointSpec.from_dict(service.apply_endpoint(admin, _BOT).spec)
    assert spec.budgets[1] == Budget("principal", "day", USD // 2)
    db = admin.db
    r = ledger.reserve(
        db, clock, endpoint="bot", team="support", principal="alice",
        budgets=spec.budgets, amount_nanos=ledger.estimate(spec, {"prompt": "x" * 8}),
    )  # fmt: skip
    ledger.settle(db, clock, r, ledger.cost_of(spec, {"prompt_tokens": 2, "completion_tokens": 10}))
    records = service.budget_status(admin, endpoint="bot")
    assert [(b.scope, b.key, b.period) for b in records] == [
        ("endpoint", "bot", "day"),
        ("principal", "alice", "day"),
    ]
    mine = records[1]
    assert mine.spent_nanos == 100_000 + 2 * 500 + 10 * 1500 and mine.reserved_nanos == 0
    assert mine.left_nanos == USD // 2 - mine.spent_nanos and mine.team == "support"
    assert mine.resets_at == datetime(2026, 11, 24, tzinfo=UTC)
    assert mine.as_dict()["spent"] == "0.000116" and mine.percent == 0.0
    assert service.budget_status(admin, team="other") == []
    assert len(service.budget_status(admin, team="support")) == 2
    # endpoint.read on the team, nothing elsewhere
    auth.create_principal(admin, "reader")
    auth.create_principal(admin, "outsider")
    auth.bind_role(admin, "reader", "viewer", scope="team", target="support")
    auth.bind_role(admin, "outsider", "viewer", scope="team", target="other")
    assert len(service.budget_status(as_principal(admin, "reader"))) == 2
    assert service.budget_status(as_principal(admin, "outsider")) == []
    with pytest.raises(Forbidden):
        service.budget_status(as_principal(admin, "outsider"), endpoint="bot")
    clock.advance(days=1)  # yesterday's window is not current
    assert service.budget_status(admin) == []


def test_the_board_light_turns_amber_then_red(admin: Context, clock: FrozenClock) -> None:
    auth.create_team(admin, "support")
    service.apply_endpoint(admin, _BOT)
    assert _board(admin)["budgets"][0] == "green"
    day = [Budget("endpoint", "day", 5 * USD)]
    ledger.settle(admin.db, clock, _reserve(admin.db, clock, 4 * USD, *day), 4 * USD)
    color, detail = _board(admin)["budgets"]
    assert color == "amber" and "bot endpoint bot per day 80 %" in detail
    ledger.settle(admin.db, clock, _reserve(admin.db, clock, USD, *day), USD)
    color, detail = _board(admin)["budgets"]
    assert color == "red" and "exhausted" in detail
