"""A small, known set of traces in two teams' hot stores, put there the way production does:
:func:`andon.telemetry.service.ingest` (masking, spool) and one pass of the writer.

Team ``shop`` (clock at 2026-11-23 08:00 UTC, times in minutes before it):

* trace 1, ``checkout`` at -30: ``POST /checkout`` (shop, 300 ms, error) with children
  ``SELECT orders`` (db, +10 ms, 50 ms) and ``charge card`` (payments, +100 ms, 150 ms,
  error, which has the child ``POST /charge``, payments, +120 ms, 20 ms, ok);
* trace 2, ``checkout`` at -20: one 20 ms ok span;
* trace 3, ``search`` at -10: one 80 ms unset span;
* trace 4, ``search`` at -5: one 40 ms ok span;
* trace 5, ``checkout`` at -90 (outside the last hour): one 900 ms ok span.

Team ``bank``: trace 10, ``ledger`` at -15, 500 ms, error.
"""

from __future__ import annotations

from datetime import datetime

from andon.auth import service as auth
from andon.core.context import Context
from andon.telemetry import service as telemetry
from andon.telemetry.sampling import parse
from andon.telemetry.writer import Writer
from tests.telemetry.rows import spans, trace_id

MINUTE_NS = 60 * 1_000_000_000
MS_NS = 1_000_000
KEEP_ALL = parse({"policies": [{"name": "all", "type": "always_sample"}]})
TEAMS = ("shop", "bank")
CHECKOUT = trace_id(1)
BANK = trace_id(10)


def _ns(now: datetime, minutes: float, ms: float = 0) -> int:
    return int(now.timestamp() * 1e9 - minutes * MINUTE_NS + ms * MS_NS)


def shop_rows(now: datetime) -> list[dict[str, object]]:
    """The spans of team shop (see the module docstring)."""
    t1 = _ns(now, 30)
    return [
        {"trace": 1, "span": 0, "name": "POST /checkout", "endpoint": "checkout", "ms": 300,
         "status": "error", "start": t1, "attrs": {"http.method": "POST", "cart.items": 3}},
        {"trace": 1, "span": 1, "parent": 0, "name": "SELECT orders", "service": "db",
         "kind": "client", "ms": 50, "start": t1 + 10 * MS_NS, "attrs": {"db.system": "duckdb"}},
        {"trace": 1, "span": 2, "parent": 0, "name": "charge card", "service": "payments",
         "kind": "internal", "ms": 150, "status": "error", "start": t1 + 100 * MS_NS},
        {"trace": 1, "span": 3, "parent": 2, "name": "POST /charge", "service": "payments",
         "kind": "client", "ms": 20, "status": "ok", "start": t1 + 120 * MS_NS},
        {"trace": 2, "span": 10, "name": "POST /checkout", "endpoint": "checkout", "ms": 20,
         "status": "ok", "start": _ns(now, 20)},
        {"trace": 3, "span": 20, "name": "GET /search", "endpoint": "search", "ms": 80,
         "start": _ns(now, 10)},
        {"trace": 4, "span": 30, "name": "GET /search", "endpoint": "search", "ms": 40,
         "status": "ok", "start": _ns(now, 5)},
        {"trace": 5, "span": 40, "name": "POST /checkout", "endpoint": "checkout", "ms": 900,
         "status": "ok", "start": _ns(now, 90)},
    ]  # fmt: skip


def bank_rows(now: datetime) -> list[dict[str, object]]:
    """The spans of team bank."""
    return [
        {"trace": 10, "span": 100, "name": "POST /ledger", "endpoint": "ledger", "ms": 500,
         "status": "error", "start": _ns(now, 15), "attrs": {"account": "kept-private"}},
    ]  # fmt: skip


def stock(admin: Context) -> None:
    """Create teams shop and bank and fold their traces into the hot stores."""
    now = admin.clock.now()
    for team, rows in (("shop", shop_rows(now)), ("bank", bank_rows(now))):
        auth.create_team(admin, team, reason="traces test")
        telemetry.ingest(admin, team, "spans", spans(rows, team))
    clock_ns = int(now.timestamp() * 1e9)
    writer = Writer(admin.settings.home, lambda _: KEEP_ALL, lambda _: {}, clock=lambda: clock_ns)
    writer.run_once()
