"""The budget ledger: what the gateway reserves before a request and settles after it.

Metering on the hot path. The gateway calls these AFTER it checked the caller's
``endpoint.invoke`` against its snapshot, so they take a :class:`Database` and a clock, not a
Context, check no permission, and write **no audit entry per request** (a ledger of every
call would be the audit log's size times the traffic). They do emit the rare events
``budget.warning`` (80 % of a window reserved or spent) and ``budget.exhausted`` (100 %)
through the outbox, each once per window, in the transaction that crossed the line.

Money is integer nanodollars (``spec.NANOS`` per USD). A budget of an endpoint
(``EndpointSpec.budgets``) counts per UTC window (day or month) for one key: the endpoint's
name, the team charged, or the calling principal's name; each endpoint keeps its own windows.

The arithmetic never overspends and never refuses what fits:

* :func:`reserve` takes the worst case (:func:`estimate`) from every window the request
  counts against in ONE transaction, each with a single conditional UPDATE
  ``reserved = reserved + a WHERE spent + reserved + a <= limit``. On SQLite the write
  transaction holds the database lock (``BEGIN IMMEDIATE``); on PostgreSQL the UPDATE waits
  for the row lock and re-checks its condition on the row as committed. Rows are touched in
  one order, so two requests never deadlock. If any window cannot cover the amount, the
  transaction rolls back (nothing stays reserved) and :class:`BudgetExceeded` names it.
* :func:`extend` reserves more while a stream flows; False when a window cannot cover it.
* :func:`settle` moves the reservation to spent, charging the actual cost capped at what was
  reserved; :func:`release` frees it all (the request was not served).
* Every reservation has a lease (renewed by :func:`extend`): :func:`expire_leases` frees the
  reservations of a worker that died, so nothing leaks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Delete, Update, and_, delete, select, update
from sqlalchemy.orm import Session

from andon.core.clock import Clock, as_utc
from andon.core.context import Database
from andon.core.errors import BudgetExceeded, Invalid
from andon.core.ids import new_id
from andon.serve.spec import NANOS, Budget, EndpointSpec
from andon.store import outbox
from andon.store.inserts import insert_or_ignore
from andon.store.tables import serve as s

DEFAULT_LEASE_S = 60
WARN_PERCENT = 80
_INPUT_FIELDS = ("messages", "prompt", "input", "instances", "inputs")
_EXPIRE_BATCH = 500


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money held for one request until settled, released or its lease passes."""

    id: str
    """Empty when no budget applies (then settle, extend and release do nothing)."""
    endpoint: str
    amount_nanos: int
    """What was reserved at first; :func:`extend` adds to it in the ledger."""
    windows: tuple[str, ...]
    lease_until: datetime


def usd(nanos: int) -> str:
    """Nanodollars as exact USD text with at least two decimals: ``5.00``, ``0.0001``."""
    text = format((Decimal(nanos) / NANOS).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def window_of(period: str, at: datetime) -> tuple[str, datetime, datetime]:
    """``(label, start, resets_at)`` of the UTC ``period`` (day or month) holding ``at``."""
    at = as_utc(at)
    if period == "day":
        start = datetime(at.year, at.month, at.day, tzinfo=UTC)
        return start.strftime("%Y-%m-%d"), start, start + timedelta(days=1)
    if period == "month":
        start = datetime(at.year, at.month, 1, tzinfo=UTC)
        nxt = datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)
        return start.strftime("%Y-%m"), start, nxt
    raise Invalid(f"must be day or month, not {period!r}", field="period")


def _text_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(_text_length(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_text_length(v) for v in value)
    return 0


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def estimate(spec: EndpointSpec, body: Mapping[str, Any]) -> int:
    """The worst-case nanodollars of a request: what :func:`reserve` must hold for it.

    ``per_request`` + input tokens (the text of ``messages``/``prompt``/``input``, 4
    characters a token, rounded up) x ``per_input_token`` + the output cap (``max_tokens``
    or ``max_completion_tokens``, else ``cost.max_output_tokens``) x ``per_output_token``.
    A ``model`` endpoint costs ``per_request`` only.
    """
    cost = spec.cost
    total = cost.per_request
    if spec.kind != "llm":
        return total
    if cost.per_input_token:
        chars = sum(_text_length(body.get(key)) for key in _INPUT_FIELDS)
        total += math.ceil(chars / 4) * cost.per_input_token
    if cost.per_output_token:
        cap = _max_tokens(body)
        total += (cost.max_output_tokens if cap is None else cap) * cost.per_output_token
    return total


def cost_of(spec: EndpointSpec, usage: Mapping[str, Any] | None) -> int:
    """The actual nanodollars of a served request, from the upstream's ``usage``."""
    cost = spec.cost
    total = cost.per_request
    if spec.kind != "llm" or not usage:
        return total

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    return (
        total
        + count("prompt_tokens") * cost.per_input_token
        + count("completion_tokens") * cost.per_output_token
    )


def budget_key(scope: str, *, endpoint: str, team: str, principal: str) -> str:
    """The name a budget of ``scope`` counts for on one request."""
    return {"endpoint": endpoint, "team": team, "principal": principal}[scope]


@dataclass(frozen=True, slots=True)
class _Seen:
    endpoint: str
    scope: str
    key: str
    period: str
    window_start: datetime
    limit_nanos: int
    spent_nanos: int
    reserved_nanos: int


class _Refused(Exception):
    def __init__(self, window: s.BudgetWindow | None = None) -> None:
        # Copied now: the rollback that follows expires the row.
        self.window = (
            None
            if window is None
            else _Seen(
                window.endpoint,
                window.scope,
                window.key,
                window.period,
                window.window_start,
                window.limit_nanos,
                window.spent_nanos,
                window.reserved_nanos,
            )
        )


def _ensure_window(
    session: Session, endpoint: str, key: str, budget: Budget, label: str, start: datetime
) -> None:
    """Insert the window row unless it exists (two workers racing both succeed)."""
    values = {
        "id": new_id("budget_window"),
        "endpoint": endpoint,
        "scope": budget.scope,
        "key": key,
        "period": budget.period,
        "window": label,
        "window_start": start,
        "limit_nanos": budget.limit_nanos,
        "spent_nanos": 0,
        "reserved_nanos": 0,
        "warned": False,
        "exhausted": False,
    }
    insert_or_ignore(session, s.BudgetWindow, values)


_W = s.BudgetWindow


def _update(table: type[Any]) -> Update:
    # Plain SQL: the session holds no ledger objects worth keeping in sync (and
    # synchronizing would compare SQLite's naive timestamps with aware ones).
    return update(table).execution_options(synchronize_session=False)


def _delete(table: type[Any]) -> Delete:
    return delete(table).execution_options(synchronize_session=False)


_RETURNED = (
    _W.id,
    _W.endpoint,
    _W.scope,
    _W.key,
    _W.period,
    _W.window_start,
    _W.limit_nanos,
    _W.spent_nanos,
    _W.reserved_nanos,
    _W.warned,
    _W.exhausted,
)


def _crossings(session: Session, row: Any, at: datetime) -> None:
    """Emit ``budget.warning`` / ``budget.exhausted`` once per window, when first crossed."""
    used = row.spent_nanos + row.reserved_nanos
    checks = (
        ("warned", "budget.warning", used * 100 >= row.limit_nanos * WARN_PERCENT, row.warned),
        ("exhausted", "budget.exhausted", used >= row.limit_nanos, row.exhausted),
    )
    for column, event, crossed, already in checks:
        if not crossed or already:
            continue
        flag = getattr(_W, column)
        # Conditional: of two workers crossing at once, one emits.
        done = session.execute(
            _update(_W).where(_W.id == row.id, flag.is_(False)).values({column: True})
        )
        if getattr(done, "rowcount", 0) == 1:
            _, _, resets = window_of(row.period, row.window_start)
            outbox.emit(
                session,
                event,
                row.id,
                {
                    "endpoint": row.endpoint,
                    "scope": row.scope,
                    "key": row.key,
                    "period": row.period,
                    "window_start": as_utc(row.window_start).isoformat(),
                    "limit_nanos": row.limit_nanos,
                    "spent_nanos": row.spent_nanos,
                    "reserved_nanos": row.reserved_nanos,
                    "percent": _percent(used, row.limit_nanos),
                    "resets_at": resets.isoformat(),
                },
                at,
            )


def _percent(used: int, limit: int) -> float:
    return round(100 * used / limit, 1) if limit else 100.0


def _take(session: Session, ids: Iterable[str], amount: int, at: datetime) -> None:
    """Reserve ``amount`` more on each window (by id), or raise :class:`_Refused`."""
    for window_id in sorted(ids):
        row = session.execute(
            _update(_W)
            .where(
                _W.id == window_id,
                _W.spent_nanos + _W.reserved_nanos + amount <= _W.limit_nanos,
            )
            .values(reserved_nanos=_W.reserved_nanos + amount)
            .returning(*_RETURNED)
        ).first()
        if row is None:
            raise _Refused(session.get(_W, window_id))
        _crossings(session, row, at)


def reserve(
    db: Database,
    clock: Clock,
    *,
    endpoint: str,
    team: str,
    principal: str,
    budgets: Sequence[Budget],
    amount_nanos: int,
    lease_s: float = DEFAULT_LEASE_S,
) -> Reservation:
    """Hold ``amount_nanos`` on every window of ``budgets`` for one request, all or nothing.

    ``endpoint`` is the endpoint's name, ``team`` the team charged, ``principal`` the caller.
    Raises :class:`BudgetExceeded` naming the first window that cannot cover the amount
    (nothing stays reserved); never refuses while every window still covers it.
    """
    if amount_nanos < 0:
        raise Invalid("must be at least 0", field="amount_nanos")
    now = as_utc(clock.now())
    lease_until = now + timedelta(seconds=lease_s)
    if not budgets:
        return Reservation("", endpoint, amount_nanos, (), lease_until)
    wanted = sorted(
        (
            (budget_key(b.scope, endpoint=endpoint, team=team, principal=principal), b)
            for b in budgets
        ),
        key=lambda kb: (kb[1].scope, kb[0], kb[1].period),
    )
    refused: _Refused | None = None
    try:
        with db.transaction() as session:
            ids: list[str] = []
            for key, budget in wanted:
                label, start, _ = window_of(budget.period, now)
                _ensure_window(session, endpoint, key, budget, label, start)
                row = session.execute(
                    _update(_W)
                    .where(
                        _W.endpoint == endpoint,
                        _W.scope == budget.scope,
                        _W.key == key,
                        _W.period == budget.period,
                        _W.window == label,
                        _W.spent_nanos + _W.reserved_nanos + amount_nanos <= budget.limit_nanos,
                    )
                    # The limit as applied now: an endpoint re-applied with a new limit
                    # counts this window's spend against the new one.
                    .values(
                        reserved_nanos=_W.reserved_nanos + amount_nanos,
                        limit_nanos=budget.limit_nanos,
                    )
                    .returning(*_RETURNED)
                ).first()
                if row is None:
                    window = session.scalar(
                        select(_W).where(
                            _W.endpoint == endpoint,
                            _W.scope == budget.scope,
                            _W.key == key,
                            _W.period == budget.period,
                            _W.window == label,
                        )
                    )
                    raise _Refused(window)
                _crossings(session, row, now)
                ids.append(row.id)
            reservation_id = new_id("reservation")
            session.add(
                s.BudgetReservation(
                    id=reservation_id,
                    endpoint=endpoint,
                    windows=ids,
                    amount_nanos=amount_nanos,
                    lease_until=lease_until,
                    created_at=now,
                )
            )
    except _Refused as exc:
        refused = exc
    if refused is not None:
        raise _exceeded(refused.window, amount_nanos, wanted, now)
    return Reservation(reservation_id, endpoint, amount_nanos, tuple(ids), lease_until)


def _exceeded(
    window: _Seen | None,
    amount: int,
    wanted: list[tuple[str, Budget]],
    now: datetime,
) -> BudgetExceeded:
    if window is None:  # pragma: no cover - the row was inserted in the same transaction
        return BudgetExceeded("a budget cannot cover the request", field="budgets")
    _, _, resets = window_of(window.period, window.window_start)
    limit = window.limit_nanos
    for key, budget in wanted:  # the limit as declared now, which the refusal checked
        if (budget.scope, key, budget.period) == (window.scope, window.key, window.period):
            limit = budget.limit_nanos
    name = f"the {window.scope} budget of {window.key} per {window.period}"
    return BudgetExceeded(
        f"{name} on endpoint {window.endpoint} cannot cover {usd(amount)} USD: "
        f"{usd(window.spent_nanos)} spent and {usd(window.reserved_nanos)} reserved "
        f"of {usd(limit)}",
        field="budgets",
        budget={
            "endpoint": window.endpoint,
            "scope": window.scope,
            "key": window.key,
            "period": window.period,
        },
        limit=usd(limit),
        spent=usd(window.spent_nanos),
        reserved=usd(window.reserved_nanos),
        requested=usd(amount),
        limit_nanos=limit,
        spent_nanos=window.spent_nanos,
        reserved_nanos=window.reserved_nanos,
        requested_nanos=amount,
        resets_at=resets.isoformat(),
        hint=f"the budget resets at {resets.isoformat()}",
    )


def extend(
    db: Database,
    clock: Clock,
    reservation: Reservation,
    extra_nanos: int,
    *,
    lease_s: float = DEFAULT_LEASE_S,
) -> bool:
    """Hold ``extra_nanos`` more for a flowing stream, and renew the lease.

    False (nothing more held) when a window cannot cover it or the reservation is gone
    (its lease passed and :func:`expire_leases` freed it):
    the gateway then stops the stream and settles. ``extra_nanos=0`` only renews the lease.
    """
    if extra_nanos < 0:
        raise Invalid("must be at least 0", field="extra_nanos")
    if not reservation.id:
        return True
    now = as_utc(clock.now())
    try:
        with db.transaction() as session:
            held = session.execute(
                _update(s.BudgetReservation)
                .where(s.BudgetReservation.id == reservation.id)
                .values(
                    amount_nanos=s.BudgetReservation.amount_nanos + extra_nanos,
                    lease_until=now + timedelta(seconds=lease_s),
                )
            )
            if getattr(held, "rowcount", 0) != 1:
                raise _Refused()
            if extra_nanos:
                _take(session, reservation.windows, extra_nanos, now)
    except _Refused:
        return False
    return True


def settle(db: Database, clock: Clock, reservation: Reservation, actual_nanos: int) -> int:
    """Charge a served request: ``actual_nanos`` capped at what was held moves to spent.

    Returns the nanodollars charged. A reservation whose lease already passed (the worker
    was taken for dead) is charged what each window still has room for, never past a limit.
    """
    if actual_nanos < 0:
        raise Invalid("must be at least 0", field="actual_nanos")
    if not reservation.id:
        return 0
    return _close(db, reservation, actual_nanos)


def release(db: Database, reservation: Reservation) -> None:
    """Free a reservation whose request was not served: nothing is charged."""
    if reservation.id:
        _close(db, reservation, 0)


def _close(db: Database, reservation: Reservation, actual: int) -> int:
    with db.transaction() as session:
        row = session.get(s.BudgetReservation, reservation.id)
        gone = session.execute(
            _delete(s.BudgetReservation).where(s.BudgetReservation.id == reservation.id)
        )
        if row is None or getattr(gone, "rowcount", 0) != 1:
            return _late(session, reservation.windows, actual)
        held = row.amount_nanos
        charged = min(actual, held)
        _free(session, row.windows, held, charged)
        return charged


def _free(session: Session, windows: Iterable[str], held: int, charged: int) -> None:
    for window_id in sorted(windows):
        session.execute(
            _update(_W)
            .where(_W.id == window_id, _W.reserved_nanos >= held)
            .values(
                reserved_nanos=_W.reserved_nanos - held,
                spent_nanos=_W.spent_nanos + charged,
            )
        )


def _late(session: Session, windows: Iterable[str], actual: int) -> int:
    ids = sorted(windows)
    if actual == 0 or not ids:
        return 0
    rows = list(session.scalars(select(_W).where(_W.id.in_(ids)).with_for_update()))
    room = min((w.limit_nanos - w.spent_nanos - w.reserved_nanos for w in rows), default=0)
    charged = max(0, min(actual, room))
    if charged:
        for window_id in ids:
            session.execute(
                _update(_W)
                .where(
                    _W.id == window_id,
                    _W.spent_nanos + _W.reserved_nanos + charged <= _W.limit_nanos,
                )
                .values(spent_nanos=_W.spent_nanos + charged)
            )
    return charged


def expire_leases(db: Database, clock: Clock) -> int:
    """Free every reservation whose lease passed (a worker that died); returns how many."""
    now = as_utc(clock.now())
    freed = 0
    while True:
        with db.transaction() as session:
            rows = list(
                session.scalars(
                    select(s.BudgetReservation)
                    .where(s.BudgetReservation.lease_until < now)
                    .order_by(s.BudgetReservation.lease_until)
                    .limit(_EXPIRE_BATCH)
                )
            )
            for row in rows:
                gone = session.execute(
                    _delete(s.BudgetReservation).where(
                        and_(
                            s.BudgetReservation.id == row.id,
                            s.BudgetReservation.lease_until < now,
                        )
                    )
                )
                if getattr(gone, "rowcount", 0) == 1:
                    _free(session, row.windows, row.amount_nanos, 0)
                    freed += 1
        if len(rows) < _EXPIRE_BATCH:
            return freed
