"""The traces module on real DuckDB: the search's filters, one trace as a tree, latency per
endpoint and bucket, permissions through the service, and input refused by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid, NotFound
from andon.telemetry import traces
from tests.conftest import as_principal
from tests.telemetry.rows import span_id, trace_id
from tests.telemetry.shop import BANK, CHECKOUT, stock


@pytest.fixture
def backend() -> str:
    """These tests exercise DuckDB, not the control database: SQLite is enough."""
    return "sqlite"


@pytest.fixture
def shop(admin: Context) -> Context:
    """The admin, with the traces of tests/telemetry/shop.py stored."""
    stock(admin)
    return admin


def now(ctx: Context) -> datetime:
    return ctx.clock.now().replace(tzinfo=None)


def ids(page: traces.TracePage) -> list[str]:
    return [t.trace_id for t in page.traces]


def test_search_lists_traces_newest_first_with_their_summary(shop: Context) -> None:
    page = traces.search_traces(shop)
    assert ids(page) == [trace_id(n) for n in (4, 3, 10, 2, 1, 5)]
    assert not page.more
    checkout = next(t for t in page.traces if t.trace_id == CHECKOUT)
    assert (checkout.name, checkout.service, checkout.endpoints, checkout.teams) == (
        "POST /checkout", "shop", ("checkout",), ("shop",),
    )  # fmt: skip
    assert (checkout.spans, checkout.errors, checkout.status) == (4, 2, "error")
    assert checkout.duration_ms == pytest.approx(300)
    assert checkout.start == now(shop) - timedelta(minutes=30)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "error"}, [10, 1]),
        ({"status": "ok"}, [4, 2, 5]),
        ({"status": "unset"}, [3]),
        ({"endpoint": "checkout"}, [2, 1, 5]),
        ({"endpoint": " search "}, [4, 3]),
        ({"endpoint": "nowhere"}, []),
        ({"min_ms": 80}, [3, 10, 1, 5]),
        ({"min_ms": 300.5}, [10, 5]),
        ({"endpoint": "checkout", "min_ms": 100, "status": "ok"}, [5]),
    ],
)
def test_each_filter_narrows_the_search(
    shop: Context, filters: dict[str, Any], expected: list[int]
) -> None:
    assert ids(traces.search_traces(shop, **filters)) == [trace_id(n) for n in expected]


def test_the_time_range_is_half_open(shop: Context) -> None:
    at = now(shop)
    last_hour = traces.search_traces(shop, since=at - timedelta(hours=1))
    assert trace_id(5) not in ids(last_hour) and len(ids(last_hour)) == 5
    window = traces.search_traces(
        shop, since=at - timedelta(minutes=30), until=at - timedelta(minutes=10)
    )
    assert ids(window) == [BANK, trace_id(2), CHECKOUT]  # 3 starts exactly at until
    aware = traces.search_traces(shop, since=(at - timedelta(minutes=6)).replace(tzinfo=UTC))
    assert ids(aware) == [trace_id(4)]


def test_pages_follow_each_other(shop: Context) -> None:
    first = traces.search_traces(shop, limit=4)
    second = traces.search_traces(shop, limit=4, offset=4)
    assert first.more and not second.more
    assert ids(first) + ids(second) == ids(traces.search_traces(shop))


def test_a_reader_of_one_team_sees_only_its_traces(shop: Context) -> None:
    auth.create_principal(shop, "vera", reason="test")
    auth.bind_role(shop, "vera", "viewer", scope="team", target="shop", reason="test")
    vera = as_principal(shop, "vera")
    assert BANK not in ids(traces.search_traces(vera))
    assert len(ids(traces.search_traces(vera))) == 5
    with pytest.raises(NotFound, match="no trace"):
        traces.trace(vera, BANK)
    with pytest.raises(Forbidden):
        traces.search_traces(vera, teams=["bank"])
    latency = traces.endpoint_latency(vera, since=now(shop) - timedelta(hours=2), until=now(shop))
    assert "ledger" not in latency.endpoints
    auth.create_principal(shop, "nobody", reason="test")
    with pytest.raises(Forbidden):
        traces.search_traces(as_principal(shop, "nobody"))


def test_one_trace_comes_as_a_tree_with_offsets(shop: Context) -> None:
    one = traces.trace(shop, CHECKOUT.upper())
    assert [(s.name, s.depth) for s in one.spans] == [
        ("POST /checkout", 0), ("SELECT orders", 1), ("charge card", 1), ("POST /charge", 2),
    ]  # fmt: skip
    assert [s.offset_ms for s in one.spans] == pytest.approx([0, 10, 100, 120])
    assert [s.service for s in one.spans] == ["shop", "db", "payments", "payments"]
    assert [s.status for s in one.spans] == ["error", "unset", "error", "ok"]
    assert one.spans[0].attributes == {"http.method": "POST", "cart.items": 3}
    assert one.spans[3].parent_span_id == span_id(2)
    assert one.duration_ms == pytest.approx(300) and one.status == "error"
    assert not one.truncated and not any(s.orphan for s in one.spans)


def test_an_unknown_or_malformed_trace_id_is_refused_by_field(shop: Context) -> None:
    with pytest.raises(NotFound) as missing:
        traces.trace(shop, "f" * 32)
    assert missing.value.field == "trace_id"
    for bad in ("", "xyz", "f" * 31, "g" * 32, "' OR 1=1 --" + "0" * 21):
        with pytest.raises(Invalid) as caught:
            traces.trace(shop, bad)
        assert caught.value.field == "trace_id"


def test_latency_is_per_endpoint_and_bucket_from_entry_spans(shop: Context) -> None:
    at = now(shop)
    latency = traces.endpoint_latency(shop, since=at - timedelta(hours=1), until=at)
    assert latency.bucket_seconds == 60
    assert latency.endpoints == ("checkout", "search", "ledger")  # busiest first, then name
    by = {(p.endpoint, p.bucket): p for p in latency.points}
    assert len(by) == 5  # trace 5 is before the range
    checkout = by["checkout", at - timedelta(minutes=30)]
    assert (checkout.requests, checkout.p50_ms, checkout.error_rate) == (1, 300, 1.0)
    day = traces.endpoint_latency(shop, since=at - timedelta(days=1), until=at)
    assert day.bucket_seconds == 900
    two = {p.endpoint: p for p in day.points if p.bucket == datetime(2026, 11, 23, 7, 45)}
    assert two["search"].requests == 2
    assert two["search"].p50_ms == pytest.approx(60)
    assert two["search"].p95_ms == pytest.approx(40 + 0.95 * 40)
    assert two["search"].error_rate == 0
    only = traces.endpoint_latency(shop, since=at - timedelta(days=1), until=at,
                                   endpoint="checkout")  # fmt: skip
    assert only.endpoints == ("checkout",)
    assert sum(p.requests for p in only.points) == 3
    assert {p.error_rate for p in only.points} == {0.0, 0.5}  # 07:30 holds traces 1 and 2


def test_an_inner_span_naming_its_parents_endpoint_is_not_a_request(admin: Context) -> None:
    from andon.telemetry import service as telemetry
    from andon.telemetry.writer import Writer
    from tests.telemetry.rows import spans
    from tests.telemetry.shop import KEEP_ALL

    auth.create_team(admin, "shop", reason="test")
    start = int(admin.clock.now().timestamp() * 1e9) - 60 * 10**9
    telemetry.ingest(admin, "shop", "spans", spans([
        {"trace": 1, "span": 0, "endpoint": "chat", "ms": 100, "start": start},
        {"trace": 1, "span": 1, "parent": 0, "endpoint": "chat", "ms": 5, "start": start},
        {"trace": 1, "span": 2, "parent": 1, "endpoint": "model", "ms": 70, "start": start},
    ], "shop"))  # fmt: skip
    clock_ns = int(admin.clock.now().timestamp() * 1e9)
    Writer(admin.settings.home, lambda _: KEEP_ALL, lambda _: {}, clock=lambda: clock_ns).run_once()
    at = now(admin)
    latency = traces.endpoint_latency(admin, since=at - timedelta(hours=1), until=at)
    assert sorted((p.endpoint, p.requests, p.p50_ms) for p in latency.points) == [
        ("chat", 1, 100), ("model", 1, 70),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "failed"}, "status"),
        ({"min_ms": -1}, "min_ms"),
        ({"min_ms": float("nan")}, "min_ms"),
        ({"limit": 0}, "limit"),
        ({"limit": traces.MAX_LIMIT + 1}, "limit"),
        ({"offset": -1}, "offset"),
        ({"endpoint": "a\nb"}, "endpoint"),
        ({"since": datetime(2026, 1, 2), "until": datetime(2026, 1, 1)}, "until"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    shop: Context, filters: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        traces.search_traces(shop, **filters)
    assert caught.value.field == field


def test_hostile_text_is_bound_never_run(shop: Context) -> None:
    hostile = "x') OR 1=1 OR ('"
    assert traces.search_traces(shop, endpoint=hostile).traces == []
    at = now(shop)
    assert traces.endpoint_latency(shop, since=at - timedelta(hours=1), until=at,
                                   endpoint=hostile).points == []  # fmt: skip


def test_text_filters_parse_or_say_which_field(shop: Context) -> None:
    assert traces.parse_time("2026-11-23T07:30", "since") == datetime(2026, 11, 23, 7, 30)
    assert traces.parse_time("2026-11-23T08:30+01:00", "since") == datetime(2026, 11, 23, 7, 30)
    assert traces.parse_time(" ", "since") is None
    assert traces.parse_ms("12.5") == 12.5 and traces.parse_ms("") is None
    with pytest.raises(Invalid) as caught:
        traces.parse_time("yesterday", "until")
    assert caught.value.field == "until"
    with pytest.raises(Invalid) as caught:
        traces.parse_ms("fast")
    assert caught.value.field == "min_ms"
    with pytest.raises(Invalid) as caught:
        traces.endpoint_latency(shop, since=datetime(2020, 1, 1), until=datetime(2026, 1, 1))
    assert caught.value.field == "since"


@pytest.mark.parametrize(
    ("hours", "seconds"), [(0.5, 60), (2, 60), (3, 300), (24, 900), (72, 3600), (24 * 30, 21600)]
)
def test_the_bucket_follows_the_range(hours: float, seconds: int) -> None:
    since = datetime(2026, 1, 1)
    assert traces.bucket_seconds(since, since + timedelta(hours=hours)) == seconds


@st.composite
def forests(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Spans ordered by start, each parent one of the earlier spans, nothing, a span not
    stored, or (to make cycles) any span."""
    count = draw(st.integers(1, 25))
    rows = []
    for i in range(count):
        parent = draw(st.one_of(st.none(), st.integers(-1, count - 1)))
        parent_id = "" if parent is None else "missing" if parent < 0 else f"s{parent}"
        rows.append({"span_id": f"s{i}", "parent_span_id": parent_id})
    return rows


@given(forests())
def test_tree_order_keeps_every_span_once_under_its_parent(rows: list[dict[str, Any]]) -> None:
    ordered = traces.tree_order(rows)
    assert sorted(r["span_id"] for r, _ in ordered) == sorted(r["span_id"] for r in rows)
    place = {r["span_id"]: i for i, (r, _) in enumerate(ordered)}
    depth = {r["span_id"]: d for r, d in ordered}
    for row, d in ordered:
        parent = row["parent_span_id"]
        if d == 0:
            continue
        assert place[parent] < place[row["span_id"]] and depth[parent] == d - 1
        between = [r for r, _ in ordered[place[parent] + 1 : place[row["span_id"]]]]
        assert all(depth[r["span_id"]] >= d for r in between)  # a subtree is contiguous
    for row, d in ordered:
        if row["parent_span_id"] in ("", "missing"):
            assert d == 0
