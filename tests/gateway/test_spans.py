"""Every gateway request leaves a span: spooled as OTLP/JSON by each worker and sent to an
OTLP/HTTP collector when one is set; both read back with OpenTelemetry's own protobuf model."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.gateway.harness import Line, line

ASK = [{"role": "user", "content": "hello there"}]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _protobuf_json(raw: bytes) -> str:
    """OTLP/JSON writes ids in hex where protobuf's JSON mapping has base64: convert, as the
    OTLP specification tells a receiver to."""
    document = json.loads(raw)
    for resource in document["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json.dumps(document)


def _spans(documents: list[bytes]) -> list[tuple[Any, dict[str, Any]]]:
    out = []
    for raw in documents:
        # Parsing into OpenTelemetry's own model fails on any field OTLP does not define.
        request = json_format.Parse(_protobuf_json(raw), ExportTraceServiceRequest())
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {
                        a.key: getattr(a.value, a.value.WhichOneof("value"))
                        for a in span.attributes
                    }
                    out.append((span, attributes))
    return out


def _spool(home: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((home / "telemetry" / "spool").glob("gateway-*.json"))]


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver on loopback: keeps what is POSTed to /v1/traces."""

    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.path == "/v1/traces" and self.headers["content-type"] == "application/json":
            Collector.received.append(body)
            self.send_response(200)
        else:
            self.send_response(415)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Line, list[bytes]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tmp_path_factory.mktemp("gateway-otlp")
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with line(
            f"sqlite:///{home / 'andon.db'}",
            home / "andon-home",
            env={"ANDON_OTLP_ENDPOINT": endpoint},
        ) as running:
            yield running, Collector.received
    finally:
        server.shutdown()


def test_a_request_is_a_span_in_the_callers_trace(collected: tuple[Line, list[bytes]]) -> None:
    gw, received = collected
    name = gw.llm(cost="{per_request: 0.002}", budgets="[{scope: endpoint, period: day, limit: 1}]")
    client = gw.client(default_headers={"traceparent": f"00-{TRACE}-{PARENT}-01"})
    client.chat.completions.create(model=name, messages=ASK)

    def mine(documents: list[bytes]) -> list[tuple[Any, dict[str, Any]]]:
        return [(s, a) for s, a in _spans(documents) if s.trace_id.hex() == TRACE]

    gw.wait_for(lambda: mine(_spool(gw.settings.home)), timeout=10)
    ((span, attributes),) = mine(_spool(gw.settings.home))
    assert span.parent_span_id.hex() == PARENT
    assert span.name == "POST /v1/chat/completions"
    assert span.end_time_unix_nano > span.start_time_unix_nano
    assert attributes["andon.endpoint"] == name
    assert attributes["andon.principal"] == "admin"
    assert attributes["andon.team"] == "support"
    assert attributes["http.response.status_code"] == 200
    assert attributes["andon.retries"] == 0
    assert attributes["andon.cost_nanos"] == 2_000_000
    assert attributes["gen_ai.usage.output_tokens"] == 4
    assert "gen_ai.prompt" not in attributes and "gen_ai.completion" not in attributes, (
        "off by default"
    )
    # The same span reached the collector over OTLP/HTTP.
    gw.wait_for(lambda: mine(received), timeout=10)
    assert mine(received)[0][0].span_id == span.span_id


def test_refusals_are_spans_too_and_only_5xx_is_an_error(
    collected: tuple[Line, list[bytes]],
) -> None:
    gw, _ = collected
    with gw.http(None) as anon:
        anon.post(
            "/v1/chat/completions",
            json={"model": "x"},
            headers={"traceparent": f"00-{'1' * 32}-{PARENT}-01"},
        )
    gw.wait_for(
        lambda: any(s.trace_id.hex() == "1" * 32 for s, _ in _spans(_spool(gw.settings.home)))
    )
    ((span, attributes),) = [
        (s, a) for s, a in _spans(_spool(gw.settings.home)) if s.trace_id.hex() == "1" * 32
    ]
    assert attributes["http.response.status_code"] == 401
    assert span.status.code == 0, "a 4xx is the caller's: not an error of the gateway"
    assert "andon.principal" not in attributes
    for raw in _spool(gw.settings.home):
        json.loads(raw)  # whole files only: written aside, then renamed


def test_prompt_logging_when_on_keeps_no_personal_data(collected: tuple[Line, list[bytes]]) -> None:
    gw, _ = collected
    name = gw.llm(log_prompts="true")
    trace = "2" * 32
    client = gw.client(default_headers={"traceparent": f"00-{trace}-{PARENT}-01"})
    secret = "card 4111 1111 1111 1111, mail jane.doe@example.com"
    client.chat.completions.create(model=name, messages=[{"role": "user", "content": secret}])
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = [a for s, a in _spans(_spool(gw.settings.home)) if s.trace_id.hex() == trace]
        return bool(found)

    gw.wait_for(logged, timeout=10)
    prompt, completion = found[0]["gen_ai.prompt"], found[0]["gen_ai.completion"]
    assert "4111 **** **** 1111" in prompt and "j***.***@e******.com" in prompt
    assert "You said: card 4111 **** **** 1111" in completion
    for raw in _spool(gw.settings.home):
        assert b"4111 1111 1111 1111" not in raw and b"jane.doe" not in raw


def test_the_span_says_what_the_guards_decided(collected: tuple[Line, list[bytes]]) -> None:
    gw, _ = collected
    name = gw.llm(guards="{pii: [card_number]}")
    results = {}
    for trace, text in (("3" * 32, "hello"), ("4" * 32, "card 4111 1111 1111 1111")):
        with gw.http() as http:
            http.post(
                "/v1/chat/completions",
                json={"model": name, "messages": [{"role": "user", "content": text}]},
                headers={"traceparent": f"00-{trace}-{PARENT}-01"},
            )

    def both() -> bool:
        for span, attributes in _spans(_spool(gw.settings.home)):
            if span.trace_id.hex() in ("3" * 32, "4" * 32):
                results[span.trace_id.hex()] = attributes
        return len(results) == 2

    gw.wait_for(both, timeout=10)
    assert results["3" * 32]["andon.guard"] == "pass"
    assert results["4" * 32]["andon.guard"] == "pii:card_number"
    assert results["4" * 32]["http.response.status_code"] == 422
