"""The cord stops serving on every worker: 503 problem+json or the endpoint's safe fallback."""

from __future__ import annotations

import statistics
import time

import httpx
import openai
import pytest

from andon.auth import service as auth
from andon.policy import cord
from andon.serve import service as serve
from tests.api.live import assert_problem
from tests.conftest import as_principal
from tests.gateway.harness import Line

ASK = [{"role": "user", "content": "draft the note"}]
FALLBACK = "{content: 'Paused: write the note by hand.'}"


def _status(gw: Line, name: str) -> int:
    with httpx.Client(timeout=30) as http:
        answer = http.post(
            gw.base + "/v1/embeddings",
            json={"model": name, "input": "x"},
            headers={"authorization": f"Bearer {gw.token('admin')}", "connection": "close"},
        )
    return answer.status_code


def test_an_endpoint_cord_refuses_or_answers_the_fallback(gw: Line) -> None:
    name = gw.llm(fallback=FALLBACK)
    serve.pull_endpoint_cord(gw.admin, name, reason="a draft quoted a card number")
    gw.settle()
    reply = gw.client().chat.completions.with_raw_response.create(model=name, messages=ASK)
    assert reply.headers["x-andon-fallback"] == "stopped:endpoint"
    completion = reply.parse()
    assert completion.choices[0].message.content == "Paused: write the note by hand."
    assert completion.system_fingerprint == "andon-fallback"
    streamed = gw.client().chat.completions.create(model=name, messages=ASK, stream=True)
    assert (
        "".join(c.choices[0].delta.content or "" for c in streamed)
        == "Paused: write the note by hand."
    )
    with gw.http() as http:
        doc = assert_problem(http.post("/v1/embeddings", json={"model": name, "input": "x"}), 503)
    assert doc["detail"].startswith(f"endpoint '{name}' is stopped by admin at ")
    assert doc["detail"].endswith(": a draft quoted a card number")
    assert (doc["scope"], doc["stopped_by"]) == ("endpoint", "admin")
    assert gw.calls(name) == 0, "nothing reached the upstream while stopped"
    serve.release_endpoint_cord(gw.admin, name, reason="guard added")
    gw.settle()
    assert gw.client().chat.completions.create(model=name, messages=ASK).choices[0].message.content
    assert gw.calls(name) == 1


def test_a_team_cord_and_the_whole_lines_cord_stop_every_endpoint_in_scope(gw: Line) -> None:
    ours, theirs = gw.llm(), gw.llm(team="fraud-ml")
    cord.pull_line_cord(gw.admin, "support", reason="support incident")
    gw.settle()
    with pytest.raises(openai.APIStatusError) as stopped:
        gw.client().chat.completions.create(model=ours, messages=ASK)
    assert stopped.value.status_code == 503
    assert stopped.value.body["scope"] == "team"  # type: ignore[index]
    assert gw.client().chat.completions.create(model=theirs, messages=ASK).choices
    cord.release_line_cord(gw.admin, "support", reason="over")
    cord.pull_line_cord(gw.admin, None, reason="stop everything")
    gw.settle()
    assert (_status(gw, ours), _status(gw, theirs)) == (503, 503)
    # Restarting the whole line takes a second principal: one release only asks.
    cord.release_line_cord(gw.admin, None, reason="looks fine")
    gw.settle()
    assert _status(gw, theirs) == 503
    auth.create_principal(gw.admin, "second-admin")
    auth.bind_role(gw.admin, "second-admin", "platform-admin")
    cord.release_line_cord(as_principal(gw.admin, "second-admin"), None, reason="confirmed")
    gw.settle()
    assert (_status(gw, ours), _status(gw, theirs)) == (200, 200)


def test_a_pulled_cord_reaches_every_worker_within_a_second(gw: Line) -> None:
    """Time from the pull's commit until no worker serves the endpoint, over 5 pulls."""
    name = gw.llm()
    lags = []
    for round_ in range(5):
        serve.pull_endpoint_cord(gw.admin, name, reason=f"round {round_}")
        pulled = time.monotonic()
        refused: set[str] = set()
        last_served = pulled
        while refused != gw.workers and time.monotonic() - pulled < 10:
            with httpx.Client(timeout=30) as http:
                answer = http.post(
                    gw.base + "/v1/embeddings",
                    json={"model": name, "input": "x"},
                    headers={"authorization": f"Bearer {gw.token('admin')}", "connection": "close"},
                )
            if answer.status_code == 503:
                refused.add(answer.headers["x-andon-worker"])
            else:
                last_served = time.monotonic()
        assert refused == gw.workers
        lags.append(last_served - pulled)
        serve.release_endpoint_cord(gw.admin, name, reason="next round")
        gw.settle()
    print(
        f"cord propagation: median {statistics.median(lags) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )
    # Workers poll every 200 ms; the aim is under 1 s, the bound leaves room for a loaded CI.
    assert max(lags) < 2.0, lags
