"""Retries, the fallback chain, timeouts and broken upstreams: capped, counted, never a 500."""

from __future__ import annotations

import time

import openai
import pytest

from andon.gateway.upstream import BREAKER_FAILURES
from tests.api.live import assert_problem
from tests.gateway.harness import Line

ASK = [{"role": "user", "content": "hello"}]


def test_a_failing_upstream_is_retried_up_to_the_cap(gw: Line) -> None:
    name = gw.llm("fail=2", retries=2)
    reply = gw.client().chat.completions.with_raw_response.create(model=name, messages=ASK)
    assert reply.headers["x-andon-attempts"] == "3"
    assert reply.parse().choices[0].message.content == "You said: hello"
    assert gw.calls(name) == 3


def test_never_more_attempts_than_the_cap(gw: Line) -> None:
    name = gw.llm("fail=100", retries=3)
    with gw.http() as http:
        doc = assert_problem(
            http.post("/v1/chat/completions", json={"model": name, "messages": ASK}), 502
        )
    assert (doc["attempts"], doc["retries"]) == (4, 3)
    assert gw.calls(name) == 4


def test_a_4xx_is_the_callers_and_is_never_retried(gw: Line) -> None:
    name = gw.llm("status=400", retries=3)
    with pytest.raises(openai.BadRequestError) as refused:
        gw.client().chat.completions.create(model=name, messages=ASK)
    assert refused.value.body["message"] == "the loopback refused on purpose"  # type: ignore[index]
    assert gw.calls(name) == 1


def test_the_fallback_chain_takes_the_next_upstream(gw: Line) -> None:
    name = "chain-" + str(time.monotonic_ns())[-8:]
    url = gw.upstream.url
    gw.apply(
        f"name: {name}\nteam: support\nkind: llm\ntimeout: 300ms\nretries: 1\nupstreams:\n"
        f"  - {{url: '{url}', model: 'demo-llm+id={name}+hang', api_key_env: LOOPBACK_KEY}}\n"
        f"  - {{url: '{url}', model: 'demo-llm+id={name}+second', api_key_env: LOOPBACK_KEY}}\n"
    )
    reply = gw.client().chat.completions.with_raw_response.create(model=name, messages=ASK)
    assert reply.headers["x-andon-attempts"] == "3"  # two timed out on the first, then the second
    assert reply.parse().model.endswith("+second")


@pytest.mark.parametrize(
    ("directive", "status", "slug"),
    [
        ("hang", 504, "upstream-timeout"),
        ("garbage", 502, "bad-upstream"),
        ("reset", 502, "bad-upstream"),
    ],
)
def test_broken_upstreams_are_502_or_504(gw: Line, directive: str, status: int, slug: str) -> None:
    name = gw.llm(directive, retries=1, timeout="300ms")
    with gw.http() as http:
        doc = assert_problem(
            http.post("/v1/chat/completions", json={"model": name, "messages": ASK}), status
        )
    assert doc["type"].endswith("/" + slug)
    assert doc["attempts"] == 2
    healthy = gw.llm()
    assert gw.client().chat.completions.create(model=healthy, messages=ASK).choices


def test_unreachable_upstream_is_502(gw: Line) -> None:
    from tests.server import free_port

    name = "gone-" + str(time.monotonic_ns())[-8:]
    gw.apply(
        f"name: {name}\nteam: support\nkind: llm\nretries: 0\n"
        f"upstreams: [{{url: 'http://127.0.0.1:{free_port()}/v1'}}]\n"
    )
    with gw.http() as http:
        doc = assert_problem(
            http.post("/v1/chat/completions", json={"model": name, "messages": ASK}), 502
        )
    assert "ClientConnectorError" in doc["detail"] or "Connect" in doc["detail"]


def test_a_breaker_stops_calling_an_upstream_that_keeps_failing(gw: Line) -> None:
    name = gw.llm("fail=1000", retries=0)
    answers = []
    for _ in range(30):
        with gw.http() as http:
            answers.append(
                http.post(
                    "/v1/chat/completions",
                    json={"model": name, "messages": ASK},
                    headers={"connection": "close"},
                )
            )
    # Each worker calls at most BREAKER_FAILURES times in a row, then answers at once.
    assert gw.calls(name) <= BREAKER_FAILURES * len(gw.workers)
    shed = [a for a in answers if a.status_code == 503]
    assert shed, [a.status_code for a in answers]
    assert assert_problem(shed[-1], 503)["type"].endswith("/upstream-unavailable")
    assert shed[-1].headers["retry-after"] == "10"
