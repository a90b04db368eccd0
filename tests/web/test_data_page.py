"""The console's data page in a real browser: latest checks per dataset, trend, schema changes.

Drives Debian's Chromium against a real andon server (fixtures in ``tests/web/conftest.py``).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb
import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (andon[console-tests])"
)

from playwright.sync_api import Page, expect

from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.data import approvals
from andon.data import service as data
from tests.conftest import as_principal
from tests.web.test_console import RGB, add_user, light_colour, sign_in, token_for

pytestmark = pytest.mark.browser
SCREENSHOT = Path(tempfile.gettempdir()) / "andon-data.png"

CONTRACT = """apiVersion: v3.0.2
kind: DataContract
id: shop
version: {version}
status: active
servers: [{{server: local, type: parquet, path: .}}]
schema:
  - name: items
    properties:
      - {{name: id, logicalType: integer, unique: true}}
      - {{name: status, logicalType: string, quality: [{{metric: invalidValues, severity: warning, arguments: {{validValues: [{values}]}}}}]}}
"""


def _items(folder: Path, ids: str, status: str = "'open'") -> None:
    target = str(folder / "items.parquet").replace("'", "''")
    duckdb.connect().execute(
        f"COPY (SELECT i AS id, {status} AS status FROM (SELECT UNNEST({ids}) AS i)) "
        f"TO '{target}' (FORMAT parquet)"
    )


def test_data_page_shows_checks_trend_and_pending_changes(
    page: Page, admin: Context, clock: FrozenClock, tmp_path: Path
) -> None:
    auth.create_team(admin, "fraud-ml", reason="console test")
    add_user(admin, "dana", "data-steward", team="fraud-ml")
    contract = tmp_path / "shop.odcs.yaml"
    contract.write_text(CONTRACT.format(version="1.0.0", values="open, paid"))
    data.apply_contract(admin, contract, "fraud-ml")
    # Three runs: unique ids (pass), a duplicate (fail), fixed but one unknown status (warning).
    for ids, status in (("[1, 2, 3]", "'open'"), ("[1, 1, 3]", "'open'"), ("[1, 2]", "'lost'")):
        _items(tmp_path, ids, status)
        data.run_checks(admin, "shop")
        clock.advance(hours=1)
    contract.write_text(CONTRACT.format(version="2.0.0", values="open"))
    assert data.apply_contract(admin, contract, "fraud-ml").status == "pending"

    sign_in(page, token_for(admin, "admin"))
    page.get_by_role("link", name="Data").click()
    expect(page).to_have_title("Data quality · andon")
    expect(page.get_by_role("link", name="Data")).to_have_attribute("aria-current", "page")

    row = page.locator('#datasets tr[data-dataset="fraud-ml/items"]')
    expect(row).to_have_attribute("data-color", "amber")  # the latest run: a warning only
    assert light_colour(row.locator("td").first) == RGB["amber"]
    expect(row).to_contain_text("shop 1.0.0")
    expect(row.locator(".ts")).to_contain_text("2026-11-23 10:00Z")
    checks = row.locator(".checks .light")
    statuses = {
        checks.nth(i).get_attribute("data-check"): checks.nth(i).get_attribute("data-status")
        for i in range(checks.count())
    }
    assert statuses["items.id.unique"] == "pass"
    failing = [name for name, status in statuses.items() if status == "fail"]
    assert failing == ["items.status.invalidValues"]
    bad = row.locator('.checks [data-check="items.status.invalidValues"]')
    assert bad.evaluate("e => getComputedStyle(e).backgroundColor") == RGB["amber"]
    expect(row.locator(".summary")).to_have_text(
        re.compile(rf"{len(statuses) - 1} of {len(statuses)} pass")
    )
    trend = row.locator(".trend .light")
    expect(trend).to_have_count(3)
    assert [trend.nth(i).get_attribute("data-passed") for i in range(3)] == [
        "true",
        "false",
        "true",
    ]
    colours = [trend.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(3)]
    assert colours == [RGB["green"], RGB["red"], RGB["green"]]
    unique = row.locator('.checks [data-check="items.id.unique"]')
    assert unique.evaluate("e => getComputedStyle(e).backgroundColor") == RGB["green"]

    pending = page.locator('#schema-changes tr[data-change="shop@2.0.0"]')
    expect(pending).to_have_attribute("data-status", "pending")
    expect(pending).to_contain_text("allowed_value_removed")
    expect(pending).to_contain_text("no longer allowed: paid")
    expect(pending).to_contain_text("active: 1.0.0")
    page.screenshot(path=SCREENSHOT, full_page=True)  # for a person to look at

    approvals.approve_version(as_principal(admin, "dana"), "shop@2.0.0", reason="console test")
    page.reload()
    expect(page.locator("#no-changes")).to_be_visible()
    expect(page.locator("#schema-changes")).to_have_count(0)


def test_data_page_needs_dataset_read(page: Page, admin: Context) -> None:
    sign_in(page, add_user(admin, "nobody"))
    response = page.goto("/console/data")
    assert response is not None and response.status == 403
    expect(page.locator("#error")).to_contain_text("nobody lacks permission 'dataset.read'")
