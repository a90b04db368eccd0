"""Load shedding at the endpoint's bounds, and the Prometheus figures of every worker."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.api.live import assert_problem
from tests.gateway.harness import Line, line

ASK = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def one(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:
    """A gateway with a single worker, so the per-worker bounds are the gateway's."""
    home = tmp_path_factory.mktemp("gateway-one")
    with line(f"sqlite:///{home / 'andon.db'}", home / "andon-home", workers=1) as running:
        yield running


def _post(gw: Line, name: str) -> tuple[int, float, httpx.Response]:
    started = time.monotonic()
    with gw.http() as http:
        answer = http.post("/v1/chat/completions", json={"model": name, "messages": ASK})
    return answer.status_code, time.monotonic() - started, answer


def test_past_the_bounds_requests_are_refused_at_once(one: Line) -> None:
    name = one.llm("sleep=800", limits="{max_in_flight: 2, max_queue: 1}", timeout="5s")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _post(one, name), range(8)))
    served = [r for r in results if r[0] == 200]
    shed = [r for r in results if r[0] == 503]
    assert len(served) == 3, [r[0] for r in results]  # 2 in flight and 1 queued
    assert len(shed) == 5
    for _, waited, answer in shed:
        doc = assert_problem(answer, 503)
        assert doc["type"].endswith("/overloaded")
        assert answer.headers["retry-after"] == "1"
        assert waited < min(s[1] for s in served), "a shed request does not wait for a slot"
    assert one.calls(name) == 3


def _metric(text: str, name: str, labels: str) -> float:
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_sum_every_worker(gw: Line) -> None:
    name = gw.llm("fail=1", retries=1)
    for _ in range(12):
        with gw.http() as http:
            http.post(
                "/v1/chat/completions",
                json={"model": name, "messages": ASK},
                headers={"connection": "close"},
            )

    labels = f'endpoint="{name}"'
    seen: list[str] = []

    def counted() -> bool:
        # Other workers' figures are at most a second old: wait until every request shows.
        seen.append(httpx.get(gw.base + "/metrics").text)
        return _metric(seen[-1], "andon_gateway_request_seconds_count", labels) == 12

    gw.wait_for(counted, timeout=10)
    text = seen[-1]
    assert _metric(text, "andon_gateway_requests_total", labels + ',code="200"') == 12
    assert "# TYPE andon_gateway_request_seconds histogram" in text
    assert _metric(text, "andon_gateway_retries_total", labels) == 1
    assert _metric(text, "andon_gateway_request_seconds_count", labels) == 12
    assert _metric(text, "andon_gateway_request_seconds_bucket", labels + ',le="+Inf"') == 12
    assert _metric(text, "andon_gateway_in_flight", labels) == 0


def test_a_rate_limit_per_principal_refuses_past_its_burst(one: Line) -> None:
    name = one.llm(rate_limits="{principal: {rate: 2/m, burst: 2}}")
    answers = [_post(one, name)[2] for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    doc = assert_problem(answers[2], 429)
    assert doc["type"].endswith("/rate-limited")
    assert doc["limit"] == {"scope": "principal", "key": "admin", "rate": 2, "per": "m", "burst": 2}
    assert int(answers[2].headers["retry-after"]) >= 1
    # Another principal has a bucket of its own.
    from andon.auth import service as auth

    auth.create_principal(one.admin, "other")
    auth.bind_role(one.admin, "other", "caller", scope="team", target="support")
    one.settle()
    with one.http("other") as http:
        assert (
            http.post("/v1/chat/completions", json={"model": name, "messages": ASK}).status_code
            == 200
        )
    assert one.calls(name) == 3, "a refused request never reaches the upstream"
    text = httpx.get(one.base + "/metrics").text
    assert _metric(text, "andon_gateway_rate_limited_total", f'endpoint="{name}"') == 2


def test_the_latency_objective_is_a_metric_to_alert_on(gw: Line) -> None:
    name = gw.llm(slo="{p95: 800ms}")
    gw.client().chat.completions.create(model=name, messages=ASK)

    def shown() -> bool:
        text = httpx.get(gw.base + "/metrics").text
        return _metric(text, "andon_gateway_slo_p95_seconds", f'endpoint="{name}"') == 0.8

    gw.wait_for(shown, timeout=10)


def test_every_counter_the_gateway_counts_is_exported() -> None:
    import pathlib

    from andon.gateway import metrics

    source = "".join(p.read_text() for p in pathlib.Path(metrics.__file__).parent.glob("*.py"))
    counted = set(re.findall(r"count\(\s*\"(andon_gateway_[a-z_]+)\"", source))
    assert counted and counted <= set(metrics.COUNTERS), counted - set(metrics.COUNTERS)
