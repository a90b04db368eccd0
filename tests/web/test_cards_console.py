"""The model card and lineage graph pages in a real browser (Debian Chromium via Playwright)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (andon[console-tests])"
)

from playwright.sync_api import Page, expect

from andon.cards import narrative
from andon.core.context import Context
from andon.lineage import service as lineage
from tests.cards.conftest import (  # noqa: F401  (fixtures)
    CANDIDATE_METRICS,
    CHAMPION_METRICS,
    MODEL,
    Line,
    line,
    record_evaluation,
)
from tests.registry.conftest import model_files, team  # noqa: F401  (fixtures)
from tests.web.test_console import HOSTILE, sign_in, token_for

pytestmark = pytest.mark.browser


def test_card_page_shows_purpose_metrics_and_what_is_missing(
    page: Page,
    admin: Context,
    line: Line,  # noqa: F811
) -> None:
    narrative.edit_section(admin, f"{MODEL}@2", "purpose", f"Flags card fraud.\n{HOSTILE}")
    record_evaluation(
        admin, line.v2, line.dataset_version, CANDIDATE_METRICS,
        champion_version_id=line.v1, champion_metrics=CHAMPION_METRICS,
    )  # fmt: skip
    sign_in(page, token_for(admin, "admin"))
    page.goto(f"/console/models/{MODEL}@2/card")
    expect(page).to_have_title(f"Model card {MODEL}@2 · andon")
    purpose = page.locator("#section-purpose .text")
    expect(purpose).to_contain_text("Flags card fraud.")
    expect(purpose).to_contain_text(HOSTILE)  # shown as text, never run
    expect(page.locator("#section-purpose img")).to_have_count(0)
    expect(page.locator("#completeness")).to_have_text(
        "Card incomplete: missing intended_users, limitations, risks."
    )
    f1 = page.locator('#metrics tr[data-metric="f1"] td')
    expect(f1).to_have_text(["f1", "0.86", "0.84", "+0.02"])
    expect(page.locator("#slices tbody tr")).to_have_count(2)
    expect(page.locator("#bias")).to_contain_text("demographic_parity_diff")
    expect(page.locator("#approvals")).to_contain_text("none recorded")
    expect(page.locator("#training")).to_contain_text("fraud-ml/orders, 5 rows")
    expect(page.get_by_role("link", name="Lineage", exact=True)).to_have_attribute(
        "href", "/console/lineage"
    )
    # An unknown version is a page that says so, with the error's status, never a 500.
    response = page.goto("/console/models/nope@1/card")
    assert response is not None and response.status == 404
    expect(page.locator("#error")).to_contain_text("no model named 'nope'")


def test_lineage_page_draws_one_node_per_object_and_links_them(
    page: Page,
    admin: Context,
    line: Line,  # noqa: F811
) -> None:
    evaluation = record_evaluation(admin, line.v1, line.dataset_version, {"f1": 0.8})
    graph = lineage.graph(admin, line.v1)
    # Upstream of v1 and downstream of it (its sibling v2 is downstream of the run only).
    assert set(graph.nodes) == {line.dataset_version, line.run_id, line.v1, evaluation}
    sign_in(page, token_for(admin, "admin"))
    page.goto(f"/console/lineage?object={MODEL}@1")
    svg = page.locator("svg#lineage-graph")
    nodes = svg.locator("a.node")
    expect(nodes).to_have_count(len(graph.nodes))
    drawn = {nodes.nth(i).get_attribute("data-id") for i in range(len(graph.nodes))}
    assert drawn == set(graph.nodes)
    expect(svg.locator("path.edge")).to_have_count(len(graph.edges))
    # Layered left to right: dataset version, run, model versions, evaluation.
    xs = {
        kind: float(svg.locator(f'a.node[data-kind="{kind}"] rect').first.get_attribute("x") or 0)
        for kind in ("dataset_version", "run", "model_version", "evaluation")
    }
    assert xs["dataset_version"] < xs["run"] < xs["model_version"] < xs["evaluation"]
    expect(svg.locator(f'a.node[data-id="{line.v1}"]')).to_contain_text(f"{MODEL}@1")
    expect(svg.locator(f'a.node[data-id="{line.run_id}"]')).to_contain_text("train fraud")
    expect(svg.locator(f'a.node[data-id="{line.dataset_version}"]')).to_contain_text(
        "fraud-ml/orders"
    )
    expect(page.locator('#coverage tr[data-ref="fraud-detector@1"]')).to_contain_text(
        "gate_decision, approval, promotion"
    )
    svg.locator(f'a.node[data-id="{line.v1}"]').click()
    expect(page).to_have_url(re.compile(rf"/console/models/{line.v1}/card$"))
    expect(page.locator("h1")).to_have_text(f"Model card: {MODEL}@1")
