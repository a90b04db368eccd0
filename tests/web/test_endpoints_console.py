"""The console's Endpoints page in a real browser: the Stop button and its confirmation pull an
endpoint's cord as the signed-in principal, Release serves it again, the board shows it red,
and a principal without ``cord.pull`` neither sees the button nor gets through by posting."""

from __future__ import annotations

import re

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (andon[console-tests])"
)

from playwright.sync_api import Page, expect

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.serve import service as serve
from tests.conftest import as_principal
from tests.web.test_console import HOSTILE, RGB, add_user, sign_in, token_for

pytestmark = pytest.mark.browser

BOT = "support-bot"
ROW = f"#endpoint-{BOT}"


def colour(page: Page, selector: str) -> str:
    """The computed text colour of the element at ``selector``."""
    return str(page.locator(selector).evaluate("e => getComputedStyle(e).color"))


@pytest.fixture
def endpoints(admin: Context) -> None:
    """Team support with an LLM endpoint (with a day budget) and team fraud-ml with a model
    endpoint (no budget)."""
    for team in ("support", "fraud-ml"):
        auth.create_team(admin, team, reason="console test")
    serve.apply_endpoint(
        admin,
        f"name: {BOT}\nteam: support\nkind: llm\n"
        "upstreams: [{url: 'http://127.0.0.1:9/v1', model: llama-3.1-8b}]\n"
        "cost: {per_request: 0.0001}\n"
        "budgets: [{scope: endpoint, period: day, limit: 5}]\n",
    )
    serve.apply_endpoint(
        admin, "name: fraud-scorer\nteam: fraud-ml\nkind: model\nmodel: fraud\nalias: champion\n"
    )


def cord_actions(admin: Context) -> list[tuple[str, str, str]]:
    """``(action, actor, reason)`` of the endpoint cord entries in the audit log, oldest first."""
    return [
        (e.action, e.actor, e.reason)
        for e in reversed(audit.list_entries(admin))
        if e.action.startswith("cord.") and e.change.get("scope") == "endpoint"
    ]


@pytest.mark.usefixtures("endpoints")
def test_stop_asks_first_then_pulls_the_cord_and_release_serves_again(
    page: Page, admin: Context
) -> None:
    sign_in(page, token_for(admin, "admin"))
    page.get_by_role("link", name="Endpoints", exact=True).click()
    expect(page).to_have_title("Endpoints · andon")
    expect(page.locator("#endpoints tbody tr")).to_have_count(2)
    row = page.locator(ROW)
    expect(row.locator(".serves")).to_have_text("http://127.0.0.1:9/v1 as llama-3.1-8b")
    expect(row.locator(".state")).to_have_text("serving")
    expect(row.locator(".budget")).to_have_text("0 %")
    scorer = page.locator("#endpoint-fraud-scorer")
    expect(scorer.locator(".serves")).to_have_text("fraud@champion")
    expect(scorer.locator(".budget")).to_have_text("no budget")

    # Stop opens the confirmation; cancelling changes nothing.
    row.get_by_role("button", name=f"Stop {BOT}").click()
    question = row.locator("#confirm-question")
    expect(question).to_contain_text(f"Stop endpoint {BOT} on every gateway worker?")
    expect(row.get_by_label("Reason (required)")).to_have_attribute("required", "")
    row.get_by_role("link", name="Cancel").click()
    expect(page.locator("#confirm-question")).to_have_count(0)
    expect(row.locator(".state")).to_have_text("serving")
    assert serve.endpoint_cords(admin) == []
    assert cord_actions(admin) == []

    # Confirming with a reason pulls the cord as the signed-in principal.
    row.get_by_role("button", name=f"Stop {BOT}").click()
    row.get_by_label("Reason (required)").fill(HOSTILE)
    row.get_by_role("button", name=f"Stop endpoint {BOT}").click()
    expect(page).to_have_url(re.compile(rf"/console/endpoints#endpoint-{BOT}$"))
    (pulled,) = serve.endpoint_cords(admin)
    assert (pulled.target, pulled.pulled, pulled.changed_by, pulled.reason) == (
        BOT,
        True,
        "admin",
        HOSTILE,
    )
    assert cord_actions(admin) == [("cord.pull", "admin", HOSTILE)]
    state = row.locator(".state")
    expect(state).to_have_text(f"stopped by admin at 2026-11-23 08:00 UTC: {HOSTILE}")
    expect(state.locator("img, b")).to_have_count(0)  # the reason is text, never markup
    assert colour(page, f"{ROW} .stopped") == RGB["red"]
    expect(row.get_by_role("button", name=f"Stop {BOT}")).to_have_count(0)
    expect(scorer.locator(".state")).to_have_text("serving")

    # The board's andon cords light is red and names the endpoint.
    page.get_by_role("link", name="Board").click()
    cords = page.locator('#board tr[data-area="andon cords"]')
    expect(cords.locator(".state")).to_have_text("red")
    expect(cords.locator(".detail")).to_have_text(f"1 cord pulled: endpoint {BOT} ({HOSTILE})")

    # The detail view shows the stop, the spec and the empty logs.
    page.goto(f"/console/endpoints/{BOT}")
    expect(page).to_have_title(f"Endpoint {BOT} · andon")
    expect(page.locator("#endpoint-state")).to_contain_text("stopped by admin")
    expect(page.locator("#spec")).to_contain_text("Serves http://127.0.0.1:9/v1 as llama-3.1-8b")
    expect(page.locator("#violations")).to_contain_text("None recorded.")
    expect(page.locator("#budgets")).to_contain_text("Nothing spent in the current windows.")

    # Release asks for a reason too, then the endpoint serves again.
    page.goto("/console/endpoints")
    row.get_by_role("button", name=f"Release {BOT}").click()
    expect(row.locator("#confirm-question")).to_contain_text(f"Release endpoint {BOT}")
    row.get_by_label("Reason (required)").fill("prompt fixed")
    row.get_by_role("button", name=f"Release endpoint {BOT}").click()
    expect(row.locator(".state")).to_have_text("serving")
    assert [(c.pulled, c.reason) for c in serve.endpoint_cords(admin)] == [(False, "prompt fixed")]
    assert cord_actions(admin)[-1] == ("cord.release", "admin", "prompt fixed")
    page.get_by_role("link", name="Board").click()
    expect(cords.locator(".state")).to_have_text("green")


@pytest.mark.usefixtures("endpoints")
def test_a_release_without_reason_or_twice_is_refused_on_the_page(
    page: Page, admin: Context
) -> None:
    sign_in(page, token_for(admin, "admin"))
    page.goto("/console/endpoints")
    # The browser will not send an empty reason; a client that does is told why, not 500.
    answer = page.request.post(f"/console/endpoints/{BOT}/stop", form={"reason": " "})
    assert answer.status == 422
    assert "say why you pull the cord" in answer.text()
    serve.pull_endpoint_cord(admin, BOT, reason="outage")
    answer = page.request.post(f"/console/endpoints/{BOT}/stop", form={"reason": "again"})
    assert answer.status == 409
    assert "already pulled" in answer.text()
    answer = page.request.post("/console/endpoints/nope/release", form={"reason": "x"})
    assert answer.status == 404
    assert "no endpoint" in answer.text()
    assert page.goto(f"/console/endpoints/{BOT}/explode") is not None
    expect(page.locator("#error")).to_contain_text("'explode' is not stop or release")
    assert [c.reason for c in serve.endpoint_cords(admin)] == ["outage"]


@pytest.mark.usefixtures("endpoints")
def test_the_detail_view_lists_guard_violations_as_recorded_masked(
    page: Page, admin: Context
) -> None:
    auth.create_principal(admin, "gw", reason="console test")
    auth.bind_role(admin, "gw", "gateway", scope="global", reason="console test")
    serve.record_violation(
        as_principal(admin, "gw"), BOT, kind="pii", detector="credit_card",
        evidence="card ****-****-****-1111", principal="cal", action="refuse",
    )  # fmt: skip
    sign_in(page, token_for(admin, "admin"))
    page.goto(f"/console/endpoints/{BOT}")
    violations = page.locator("#violations tbody tr")
    expect(violations).to_have_count(1)
    expect(violations).to_contain_text("pii credit_card")
    expect(violations).to_contain_text("card ****-****-****-1111")
    expect(violations).to_contain_text("cal")


@pytest.mark.usefixtures("endpoints")
def test_a_viewer_sees_no_stop_button_and_a_forged_post_is_refused(
    page: Page, admin: Context
) -> None:
    sign_in(page, add_user(admin, "vera", "viewer", team="support"))
    page.get_by_role("link", name="Endpoints", exact=True).click()
    expect(page.locator("#endpoints tbody tr")).to_have_count(1)  # only her team's
    expect(page.locator(ROW)).to_be_visible()
    expect(page.locator(f"{ROW} .state")).to_have_text("serving")
    expect(page.get_by_role("button", name=re.compile("^(Stop|Release)"))).to_have_count(0)

    answer = page.request.post(f"/console/endpoints/{BOT}/stop", form={"reason": "forged"})
    assert answer.status == 403
    assert "vera lacks permission &#39;cord.pull&#39;" in answer.text()
    assert serve.endpoint_cords(admin) == []
    assert cord_actions(admin) == []

    # Once pulled, she sees it stopped, but no Release button: releasing takes cord.release.
    serve.pull_endpoint_cord(admin, BOT, reason="outage")
    page.reload()
    expect(page.locator(f"{ROW} .state")).to_contain_text("stopped by admin")
    expect(page.get_by_role("button", name=re.compile("^(Stop|Release)"))).to_have_count(0)
    answer = page.request.post(f"/console/endpoints/{BOT}/release", form={"reason": "forged"})
    assert answer.status == 403
    assert [c.pulled for c in serve.endpoint_cords(admin)] == [True]
