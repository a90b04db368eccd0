"""The console in a real browser: sign-in, the board, teams and on-call, the audit log.

Each test drives Debian's Chromium against a real andon server on a fresh SQLite database
whose clock is frozen at Monday 2026-11-23 08:00 UTC (see ``tests/conftest.py``).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (andon[console-tests])"
)

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, text

from andon import demo
from andon.auth import service as auth
from andon.auth import tokens
from andon.board import service as board
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.store.db import Database

pytestmark = pytest.mark.browser

SIGN_IN = re.compile(r"/console/login(\?.*)?$")
# The stylesheet's light colours, as the browser computes them.
RGB = {"green": "rgb(26, 127, 55)", "amber": "rgb(154, 103, 0)", "red": "rgb(198, 40, 40)"}
SCREENSHOT = Path(tempfile.gettempdir()) / "andon-board.png"
HOSTILE = '<img src=x onerror="document.title=1"> <b>bold</b> & "quoted"'


def token_for(admin: Context, principal: str) -> str:
    """A fresh API token for ``principal``."""
    _, secret = auth.create_token(admin, principal, name="console test", reason="console test")
    return secret


def add_user(admin: Context, name: str, role: str | None = None, team: str | None = None) -> str:
    """Create ``name`` with ``role`` (global, or in ``team``) and return a token for it."""
    auth.create_principal(admin, name, reason="console test")
    if role:
        scope = "team" if team else "global"
        auth.bind_role(admin, name, role, scope=scope, target=team, reason="console test")
    return token_for(admin, name)


def sign_in(page: Page, token: str) -> None:
    """Fill and submit the sign-in form."""
    page.goto("/console/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def session_cookies(page: Page) -> list[str]:
    """Names of the console cookies the browser holds."""
    return [c["name"] for c in page.context.cookies() if c["name"] == "andon_token"]


def _engine(admin: Context) -> Engine:
    assert isinstance(admin.db, Database)
    return admin.db.write_engine


def tamper(admin: Context, seq: int) -> None:
    """Edit one audit row behind the services' back, as an attacker with database access would."""
    with _engine(admin).begin() as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'x' WHERE seq = :seq"), {"seq": seq})


def audit_count(admin: Context) -> int:
    """How many entries the audit log holds."""
    with _engine(admin).connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def light_colour(row: Locator) -> str:
    """The computed background colour of a row's light."""
    return str(row.locator(".light").evaluate("e => getComputedStyle(e).backgroundColor"))


def test_signed_out_visitor_goes_to_sign_in_and_bad_tokens_are_refused(
    page: Page, admin: Context
) -> None:
    record, revoked = auth.create_token(admin, "admin", name="old", reason="console test")
    auth.revoke_token(admin, record.id, reason="console test")

    page.goto("/")
    expect(page).to_have_url(SIGN_IN)
    expect(page).to_have_title("Sign in · andon")
    expect(page.locator("#whoami")).to_have_count(0)

    refused = [
        ("not-a-token", "malformed token"),
        (tokens.generate(), "unknown token"),
        (revoked, f"token {record.id} was revoked"),
    ]
    for token, why in refused:
        sign_in(page, token)
        expect(page.locator("#login-error")).to_contain_text(why)
        expect(page).to_have_url(SIGN_IN)
        assert session_cookies(page) == []
        page.goto("/")
        expect(page).to_have_url(SIGN_IN)
        expect(page.locator("#whoami")).to_have_count(0)


def test_board_shows_every_area_with_its_colour(page: Page, admin: Context) -> None:
    demo.seed(admin)
    auth.create_team(admin, "payments", description="no rotation yet", reason="console test")
    sign_in(page, token_for(admin, "admin"))

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#whoami")).to_have_text("admin")
    expect(page).to_have_title("Board: amber · andon")
    expect(page.locator("#overall")).to_have_text("amber")

    lights = board.board(admin)
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(len(lights))
    for light in lights:
        row = page.locator(f'#board tbody tr[data-area="{light.area}"]')
        expect(row.locator(".state")).to_have_text(light.color)
        expect(row.locator(".detail")).to_have_text(light.detail)
        assert light_colour(row) == RGB[light.color], light.area
    on_call = page.locator('#board tr[data-area="teams & on-call"]')
    expect(on_call.locator(".state")).to_have_text("amber")
    expect(on_call.locator(".detail")).to_have_text("1 of 4 teams has no on-call")
    chain = page.locator('#board tr[data-area="audit chain"]')
    expect(chain.locator(".state")).to_have_text("green")
    assert light_colour(chain) == RGB["green"]
    page.screenshot(path=SCREENSHOT, full_page=True)  # for a person to look at

    tamper(admin, 3)
    page.reload()
    expect(chain.locator(".state")).to_have_text("red")
    expect(chain.locator(".detail")).to_contain_text("broken at entry 3")
    assert light_colour(chain) == RGB["red"]
    expect(page.locator("#overall")).to_have_text("red")
    expect(page).to_have_title("Board: red · andon")


def test_teams_page_shows_who_is_on_call_now_and_the_ladder(
    page: Page, admin: Context, clock: FrozenClock
) -> None:
    for name in ("alice", "bruno", "dara"):
        auth.create_principal(admin, name, reason="console test")
    auth.create_team(admin, "fraud-ml", description="Fraud models", owners=["alice"])
    auth.add_member(admin, "fraud-ml", "bruno")
    # Weekly shifts from Monday 2026-11-09 09:00 UTC: alice, then bruno until 11-23 09:00.
    auth.set_rotation(
        admin,
        "fraud-ml",
        "primary",
        ["alice", "bruno"],
        timezone="UTC",
        handoff="09:00",
        period_hours=168,
        starts_on="2026-11-09",
    )
    auth.set_escalation(admin, "fraud-ml", "model-owner", rotation="primary")
    auth.set_escalation(admin, "fraud-ml", "risk-owner", principal="dara")
    auth.create_team(admin, "platform", description=HOSTILE)
    sign_in(page, token_for(admin, "admin"))

    page.get_by_role("link", name="Teams & on-call").click()
    expect(page).to_have_title("Teams & on-call · andon")
    fraud = page.locator('section.team[data-team="fraud-ml"]')
    expect(fraud.get_by_role("heading")).to_have_text("fraud-ml")
    expect(fraud).to_contain_text("Owners: alice · Members: alice, bruno")
    expect(fraud.locator(".oncall .who")).to_have_text("bruno")
    expect(fraud.locator(".oncall")).to_contain_text("primary rotation, until 2026-11-23 09:00Z")
    expect(fraud.locator('tr[data-level="model-owner"]')).to_contain_text("bruno")
    expect(fraud.locator('tr[data-level="model-owner"]')).to_contain_text("rotation primary")
    expect(fraud.locator('tr[data-level="risk-owner"]')).to_contain_text("dara")
    expect(fraud.locator('tr[data-level="platform-owner"]')).to_have_count(0)

    platform = page.locator('section.team[data-team="platform"]')
    expect(platform.locator(".oncall")).to_have_text("No on-call rotation")
    expect(platform.locator(".ladder-missing")).to_be_visible()
    expect(platform.locator(".description")).to_have_text(HOSTILE)  # shown, not interpreted
    expect(platform.locator("img, b")).to_have_count(0)

    clock.advance(hours=2)  # past Monday's 09:00 handoff: alice's week begins
    page.reload()
    expect(fraud.locator(".oncall .who")).to_have_text("alice")
    expect(fraud.locator(".oncall")).to_contain_text("until 2026-11-30 09:00Z")
    expect(fraud.locator('tr[data-level="model-owner"]')).to_contain_text("alice")


def test_audit_log_lists_entries_and_verify_finds_tampering(page: Page, admin: Context) -> None:
    auth.create_principal(admin, "mallory", reason=HOSTILE)
    sign_in(page, token_for(admin, "admin"))
    entries = audit_count(admin)

    page.get_by_role("link", name="Audit log").click()
    expect(page).to_have_title("Audit log · andon")
    expect(page.locator("#audit tbody tr")).to_have_count(entries)
    expect(page.locator('#audit tr[data-seq="1"]')).to_contain_text("principal.bootstrap")
    expect(page.locator(f'#audit tr[data-seq="{entries}"]')).to_contain_text("token.create")
    expect(page.locator('#audit tr[data-seq="2"] .reason')).to_have_text(HOSTILE)
    expect(page.locator("#audit img, #audit b")).to_have_count(0)

    verify = page.get_by_role("button", name="Verify chain")
    verify.click()
    expect(page.locator("#verify-result")).to_have_text(f"Chain intact: {entries} entries")

    tamper(admin, 3)
    verify.click()
    expect(page.locator("#verify-result")).to_contain_text("Chain broken at entry 3")
    expect(page.locator("#verify-bad")).to_be_visible()

    page.get_by_label("Actor").fill("system")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit tbody tr")).to_have_count(1)
    expect(page.locator("#audit tbody tr")).to_contain_text("principal.bootstrap")


def test_viewer_without_audit_read_sees_a_permission_error(page: Page, admin: Context) -> None:
    auth.create_team(admin, "fraud-ml", reason="console test")
    auth.create_team(admin, "risk", reason="console test")
    sign_in(page, add_user(admin, "vera", "viewer", team="fraud-ml"))
    expect(page.locator("#whoami")).to_have_text("vera")
    expect(page.locator("#board")).to_be_visible()

    response = page.goto("/console/audit")
    assert response is not None
    assert response.status == 403
    expect(page).to_have_title("Forbidden · andon")
    expect(page.locator("#error")).to_contain_text("vera lacks permission 'audit.read'")
    expect(page.locator("#whoami")).to_have_text("vera")  # still signed in, can go elsewhere

    page.get_by_role("link", name="Teams & on-call").click()
    expect(page.locator("section.team")).to_have_count(1)
    expect(page.locator("section.team h2")).to_have_text("fraud-ml")


def test_verify_without_audit_verify_says_why(page: Page, admin: Context) -> None:
    sign_in(page, add_user(admin, "gil", "viewer"))
    page.goto("/console/audit")
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator("#verify-error")).to_have_text(
        "Cannot verify: gil lacks permission 'audit.verify'"
    )


def test_principal_without_roles_gets_errors_not_500s(page: Page, admin: Context) -> None:
    sign_in(page, add_user(admin, "nobody"))
    for path, action in [
        ("/", "status.read"),
        ("/console/teams", "team.read"),
        ("/console/audit", "audit.read"),
    ]:
        response = page.goto(path)
        assert response is not None
        assert response.status == 403, path
        expect(page.locator("#error")).to_contain_text(f"nobody lacks permission '{action}'")


def test_sign_out_clears_the_cookie(page: Page, admin: Context) -> None:
    sign_in(page, token_for(admin, "admin"))
    expect(page.locator("#whoami")).to_have_text("admin")
    (cookie,) = page.context.cookies()
    assert cookie["name"] == "andon_token"
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(SIGN_IN)
    expect(page.locator("#login-notice")).to_have_text("You are signed out.")
    assert session_cookies(page) == []
    for path in ("/", "/console/teams", "/console/audit"):
        page.goto(path)
        expect(page).to_have_url(SIGN_IN)
        expect(page.locator("#whoami")).to_have_count(0)


def test_revoked_session_is_sent_back_to_sign_in(page: Page, admin: Context) -> None:
    record, secret = auth.create_token(admin, "admin", name="console", reason="console test")
    sign_in(page, secret)
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#whoami")).to_have_text("admin")

    auth.revoke_token(admin, record.id, reason="console test")
    page.get_by_role("button", name="Verify chain").click()  # an HTMX request: full redirect
    expect(page).to_have_url(SIGN_IN)
    expect(page.locator("#login-notice")).to_contain_text("Your session has ended")
    assert session_cookies(page) == []
