"""The evaluation report page in a real browser: metrics, coloured deltas, bias, slices."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (andon[console-tests])"
)

from playwright.sync_api import Page, expect

from andon.core.context import Context
from andon.evaluate import service as evaluate
from tests.evaluate.conftest import Line, files, line  # noqa: F401  (fixtures)
from tests.web.test_console import RGB, sign_in, token_for

pytestmark = pytest.mark.browser


def test_evaluation_report_page(page: Page, admin: Context, line: Line) -> None:  # noqa: F811
    report = evaluate.run_evaluation(admin, "fraud@2", line.suite)
    sign_in(page, token_for(admin, "admin"))

    page.goto(f"/console/evaluations/{report.id}")
    expect(page).to_have_title("Evaluation fraud@2 · andon")
    expect(page.locator("#model-ref")).to_have_text("fraud-ml/fraud@2")
    expect(page.locator("#summary")).to_contain_text("Compared with the champion, version 1")
    f1 = page.locator('#metrics tr[data-metric="f1"]')
    expect(f1.locator(".candidate")).to_have_text(f"{report.metrics['f1']:.4g}")
    expect(f1.locator(".champion")).to_have_text(f"{report.champion_metrics['f1']:.4g}")  # type: ignore[index]
    verdict = "better" if report.deltas["f1"] > 0 else "worse"
    expect(f1.locator(".delta")).to_have_attribute("data-verdict", verdict)
    colour = f1.locator(".delta").evaluate("e => getComputedStyle(e).color")
    assert colour == RGB["green" if verdict == "better" else "red"]
    parity = page.locator('#metrics tr[data-metric="bias.demographic_parity_diff"]')
    expect(parity.locator(".candidate")).to_have_text(
        f"{report.metrics['bias']['demographic_parity_diff']:.4g}"
    )
    expect(page.locator("#bias-groups tbody tr")).to_have_count(3)
    expect(page.locator('#slices tr[data-slice="age_band=60+"]')).to_have_count(1)

    page.get_by_role("link", name="All evaluations of fraud").click()
    expect(page.locator("#evaluations tbody tr")).to_have_count(1)
    page.get_by_role("link", name=report.id).click()
    expect(page.locator("#model-ref")).to_have_text("fraud-ml/fraud@2")

    page.goto("/console/evaluations/evl_nope")
    expect(page.locator("#error")).to_contain_text("no evaluation 'evl_nope'")
