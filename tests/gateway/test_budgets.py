"""Budgets on the gateway: 429 once spent, nothing charged for what was not served, streams
charged as they flow and cut where the budget ends."""

from __future__ import annotations

from datetime import datetime

import httpx
import openai
import pytest

from andon.serve import service as serve
from tests.api.live import assert_problem
from tests.gateway.harness import Line

ASK = [{"role": "user", "content": "hi"}]


def _window(gw: Line, name: str) -> dict[str, object]:
    (row,) = [b.as_dict() for b in serve.budget_status(gw.admin, endpoint=name)]
    return row


def test_an_exhausted_budget_is_429_naming_it_and_when_it_resets(gw: Line) -> None:
    name = gw.llm(
        cost="{per_request: 0.01}",
        budgets="[{scope: endpoint, period: day, limit: 0.03}]",
    )
    for _ in range(3):
        assert gw.client().chat.completions.create(model=name, messages=ASK).choices
    with gw.http() as http:
        refused = http.post("/v1/chat/completions", json={"model": name, "messages": ASK})
    doc = assert_problem(refused, 429, field="budgets")
    assert doc["type"].endswith("/budget-exceeded")
    assert doc["budget"] == {"endpoint": name, "scope": "endpoint", "key": name, "period": "day"}
    assert (doc["limit"], doc["spent"]) == ("0.03", "0.03")
    assert datetime.fromisoformat(doc["resets_at"]).hour == 0
    assert 0 < int(refused.headers["retry-after"]) <= 86_400
    assert gw.calls(name) == 3, "the refused request never reached the upstream"
    window = _window(gw, name)
    assert (window["spent"], window["reserved"], window["left"]) == ("0.03", "0.00", "0.00")
    with pytest.raises(openai.RateLimitError):
        gw.client().chat.completions.create(model=name, messages=ASK)
    # What is left is on /metrics, for an alert before the 429s start.
    series = f'andon_gateway_budget_left_nanodollars{{endpoint="{name}",scope="endpoint",key="{name}",period="day"}} 0'
    gw.wait_for(lambda: series in httpx.get(gw.base + "/metrics").text.splitlines(), timeout=10)


def test_tokens_are_charged_from_the_upstreams_usage(gw: Line) -> None:
    name = gw.llm(
        cost="{per_input_token: 0.001, per_output_token: 0.002}",
        budgets="[{scope: principal, period: month, limit: 10}]",
    )
    completion = gw.client().chat.completions.create(model=name, messages=ASK, max_tokens=50)
    assert completion.usage is not None
    expected = completion.usage.prompt_tokens * 0.001 + completion.usage.completion_tokens * 0.002
    window = _window(gw, name)
    assert float(str(window["spent"])) == pytest.approx(expected)
    assert (window["key"], window["reserved"]) == ("admin", "0.00")


def test_nothing_is_charged_for_a_request_that_was_not_served(gw: Line) -> None:
    name = gw.llm(
        "fail=1000",
        retries=0,
        cost="{per_request: 0.01}",
        budgets="[{scope: endpoint, period: day, limit: 1}]",
    )
    with gw.http() as http:
        assert_problem(
            http.post("/v1/chat/completions", json={"model": name, "messages": ASK}), 502
        )
    window = _window(gw, name)
    assert (window["spent"], window["reserved"]) == ("0.00", "0.00")


def test_a_stream_is_charged_as_it_flows_and_cut_at_the_budget(gw: Line) -> None:
    # The upstream ignores max_tokens and sends 400 more words; the budget covers about 100.
    name = gw.llm(
        "long=400",
        cost="{per_output_token: 0.01}",
        budgets="[{scope: endpoint, period: day, limit: 1.00}]",
    )
    pieces: list[str] = []
    stream = gw.client().chat.completions.create(
        model=name, messages=ASK, stream=True, max_tokens=10
    )
    with pytest.raises(openai.APIError, match="budget cannot cover more"):
        pieces.extend(chunk.choices[0].delta.content or "" for chunk in stream)
    assert 0 < len(pieces) < 400
    window = _window(gw, name)
    assert float(str(window["spent"])) <= 1.00
    assert window["reserved"] == "0.00"
