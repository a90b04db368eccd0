"""The console's Traces page in a real browser, over traces ingested and folded by the real
telemetry station (tests/telemetry/shop.py): filters filter, a trace is a waterfall in tree
order, the latency chart has a point per endpoint and bucket, a reader of one team sees only
its traces, and an unknown trace id is the not-found page."""

from __future__ import annotations

import re

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (andon[console-tests])"
)

from playwright.sync_api import Page, expect

from andon.core.context import Context
from tests.telemetry.rows import span_id, trace_id
from tests.telemetry.shop import BANK, CHECKOUT, stock
from tests.web.test_console import RGB, add_user, sign_in, token_for

pytestmark = pytest.mark.browser

ROWS = "#traces tbody tr[data-trace]"


@pytest.fixture
def shop(admin: Context) -> Context:
    """The admin, with the traces of tests/telemetry/shop.py stored for teams shop and bank."""
    stock(admin)
    return admin


def listed(page: Page) -> list[str]:
    """The trace ids the table lists, top to bottom."""
    expect(page.locator("#traces")).to_be_visible()
    return [str(t) for t in page.locator(ROWS).evaluate_all("rs => rs.map(r => r.dataset.trace)")]


def test_filters_narrow_the_list_and_each_row_opens_its_trace(page: Page, shop: Context) -> None:
    sign_in(page, token_for(shop, "admin"))
    page.get_by_role("link", name="Traces", exact=True).click()
    expect(page).to_have_title("Traces · andon")
    expect(page.get_by_role("link", name="Traces", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    assert listed(page) == [trace_id(n) for n in (4, 3, 10, 2, 1, 5)]  # the last 24 hours

    page.get_by_label("Status").select_option("error")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"status=error"))
    assert listed(page) == [BANK, CHECKOUT]
    expect(page.locator(f"{ROWS} .status")).to_have_text(["error", "error"])
    assert (
        page.locator(f"{ROWS} .status").first.evaluate("e => getComputedStyle(e).color")
        == (RGB["red"])
    )

    page.get_by_label("Status").select_option("")
    page.get_by_label("Minimum latency (ms)").fill("100")
    page.get_by_role("button", name="Search").click()
    assert listed(page) == [BANK, CHECKOUT, trace_id(5)]  # the 20, 40 and 80 ms ones are gone
    assert all(float(ms) >= 100 for ms in page.locator(ROWS).evaluate_all(
        "rs => rs.map(r => r.dataset.ms)"))  # fmt: skip

    page.get_by_label("Endpoint", exact=True).fill("checkout")
    page.get_by_label("Since (UTC)").fill("2026-11-23T07:00:00")
    page.get_by_role("button", name="Search").click()
    assert listed(page) == [CHECKOUT]
    expect(page.locator(f"{ROWS} .endpoints")).to_have_text(["checkout"])

    page.get_by_role("link", name="POST /checkout").click()
    expect(page).to_have_url(re.compile(rf"/console/traces/{CHECKOUT}$"))
    expect(page.locator("#waterfall")).to_be_visible()


def test_paging_walks_the_list(page: Page, shop: Context) -> None:
    sign_in(page, token_for(shop, "admin"))
    page.goto("/console/traces?limit=4")
    assert listed(page) == [trace_id(n) for n in (4, 3, 10, 2)]
    expect(page.locator("#newer")).to_have_count(0)
    page.get_by_role("link", name="Older").click()
    assert listed(page) == [CHECKOUT, trace_id(5)]
    expect(page.locator("#older")).to_have_count(0)
    page.get_by_role("link", name="Newer").click()
    assert listed(page) == [trace_id(n) for n in (4, 3, 10, 2)]


def test_bad_filters_say_which_field_on_the_form(page: Page, shop: Context) -> None:
    sign_in(page, token_for(shop, "admin"))
    for query, words in (
        ("status=failed", "status: must be one of ok, error, unset"),
        ("min_ms=fast", "min_ms: not a number of milliseconds"),
        ("since=yesterday", "since: not a time"),
        ("since=2026-11-23T08:00&until=2026-11-23T07:00", "until: must be after since"),
        ("limit=9999", "limit: must be between 1 and 500"),
        ("endpoint=x%27)%20OR%201%3D1%20--", None),
    ):
        answer = page.goto(f"/console/traces?{query}")
        assert answer is not None
        if words is None:  # hostile text is a value that matches nothing, not SQL
            assert answer.status == 200
            expect(page.locator(ROWS)).to_have_count(0)
            continue
        assert answer.status == 422, query
        expect(page.locator("#filter-error")).to_contain_text(words)
        expect(page.locator("#trace-filters")).to_be_visible()


def test_a_trace_is_a_waterfall_in_tree_order(page: Page, shop: Context) -> None:
    sign_in(page, token_for(shop, "admin"))
    page.goto(f"/console/traces/{CHECKOUT}")
    expect(page).to_have_title(f"Trace {CHECKOUT[:8]} · andon")
    expect(page.locator("#trace-summary")).to_contain_text("300.0 ms · 4 spans")
    rows = page.locator("#waterfall tbody tr")
    expect(rows.locator("summary")).to_have_text(
        ["POST /checkout", "SELECT orders", "charge card", "POST /charge"]
    )
    shape = rows.evaluate_all(
        "rs => rs.map(r => [r.dataset.span, r.dataset.parent, r.dataset.depth])"
    )
    assert shape == [
        [span_id(0), "", "0"], [span_id(1), span_id(0), "1"],
        [span_id(2), span_id(0), "1"], [span_id(3), span_id(2), "2"],
    ]  # fmt: skip
    expect(rows.locator(".service")).to_have_text(["shop", "db", "payments", "payments"])
    expect(rows.locator(".status")).to_have_text(["error", "unset", "error", "ok"])

    # Indented by depth, and each bar placed and sized by offset and duration in the trace.
    indents = [rows.nth(i).locator("summary").bounding_box() for i in range(4)]
    lefts = [box["x"] for box in indents if box]
    assert lefts[0] < lefts[1] == lefts[2] < lefts[3]
    bars = [rows.nth(i).locator(".span-bar").bounding_box() for i in range(4)]
    track = rows.nth(0).locator(".track").bounding_box()
    assert track and all(bars)
    for box, (offset, ms) in zip(bars, [(0, 300), (10, 50), (100, 150), (120, 20)], strict=True):
        assert box is not None
        assert box["x"] - track["x"] == pytest.approx(track["width"] * offset / 300, abs=1.5)
        assert box["width"] == pytest.approx(track["width"] * ms / 300, abs=1.5)

    # Attributes show when a span is opened.
    rows.first.locator("summary").click()
    attrs = rows.first.locator("dd.attr")
    expect(attrs).to_have_text(["3", "POST"])
    expect(rows.first.locator('dd.attr[data-key="cart.items"]')).to_be_visible()


def test_the_latency_chart_has_a_point_per_endpoint_and_bucket(page: Page, shop: Context) -> None:
    sign_in(page, token_for(shop, "admin"))
    page.goto("/console/traces?since=2026-11-23T07:00")
    panels = page.locator("#latency figure.panel")
    expect(panels).to_have_count(3)
    assert panels.evaluate_all("ps => ps.map(p => p.dataset.endpoint)") == [
        "checkout", "search", "ledger",
    ]  # fmt: skip
    checkout = page.locator('figure[data-endpoint="checkout"]')
    expect(checkout.locator("circle.p95")).to_have_count(2)  # one per minute with traces
    expect(checkout.locator("circle.p50")).to_have_count(2)
    ms = checkout.locator("circle.p95").evaluate_all("cs => cs.map(c => Number(c.dataset.ms))")
    assert ms == [300, 20]
    expect(checkout.locator("rect.error-bar")).to_have_count(1)  # the 07:30 error
    expect(checkout.locator("figcaption")).to_contain_text("2 requests")
    # The points are drawn inside the chart, later buckets further right, slower ones higher.
    boxes = [checkout.locator("circle.p95").nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1] and boxes[0]["x"] < boxes[1]["x"] and boxes[0]["y"] < boxes[1]["y"]
    expect(page.locator('figure[data-endpoint="ledger"] circle.p95')).to_have_count(1)


def test_a_reader_of_one_team_sees_only_its_traces(page: Page, shop: Context) -> None:
    sign_in(page, add_user(shop, "vera", "viewer", team="shop"))
    page.get_by_role("link", name="Traces", exact=True).click()
    assert listed(page) == [trace_id(n) for n in (4, 3, 2, 1, 5)]
    expect(page.locator('figure[data-endpoint="ledger"]')).to_have_count(0)
    expect(page.locator("#traces")).not_to_contain_text("bank")
    answer = page.goto(f"/console/traces/{BANK}")
    assert answer is not None and answer.status == 404
    expect(page.locator("#error")).to_contain_text(f"no trace {BANK}")


def test_without_telemetry_read_anywhere_the_page_says_forbidden(page: Page, shop: Context) -> None:
    sign_in(page, add_user(shop, "nora"))
    answer = page.goto("/console/traces")
    assert answer is not None and answer.status == 403
    expect(page.locator("#error")).to_contain_text("telemetry.read")


def test_an_unknown_or_malformed_trace_id_is_not_found_or_invalid(
    page: Page, shop: Context
) -> None:
    sign_in(page, token_for(shop, "admin"))
    answer = page.goto(f"/console/traces/{'f' * 32}")
    assert answer is not None and answer.status == 404
    expect(page).to_have_title("Not found · andon")
    expect(page.locator("#error")).to_contain_text("no trace ffff")
    answer = page.goto("/console/traces/not-a-trace")
    assert answer is not None and answer.status == 422
    expect(page.locator("#error")).to_contain_text("trace_id: a trace id is 32 hexadecimal digits")
