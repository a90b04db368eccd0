"""The OTLP/HTTP receiver, driven by the OpenTelemetry SDK's own exporters over loopback."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.telemetry import service as telemetry
from andon.telemetry import spool, tour
from andon.telemetry.pipeline import Pipeline
from andon.telemetry.receiver import ARROW, Receiver
from tests.conftest import as_principal
from tests.server import serving
from tests.telemetry import sdk
from tests.telemetry.rows import spans as span_rows


@dataclass
class Intake:
    base: str
    token: str
    admin: Context
    home: Path

    def headers(self, **extra: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", **extra}

    def fold(self) -> None:
        Pipeline(self.admin.db, self.admin.settings).run_once()

    def sql(self, text: str) -> list[dict[str, object]]:
        return telemetry.query(self.admin, text).table.to_pylist()


@pytest.fixture
def intake(admin: Context) -> Iterator[Intake]:
    auth.create_team(admin, "shop", owners=["admin"])
    auth.create_team(admin, "other", owners=["admin"])
    auth.create_principal(admin, "shop-app")
    auth.bind_role(admin, "shop-app", "caller", scope="team", target="shop")
    auth.create_principal(admin, "steward")
    auth.bind_role(admin, "steward", "data-steward", scope="team", target="shop")
    _, token = auth.create_token(admin, "shop-app")
    with serving(Receiver(admin.db, admin.settings).app) as base:
        yield Intake(base, token, admin, Path(admin.settings.home))


def test_the_sdk_exporters_deliver_traces_metrics_and_logs(intake: Intake) -> None:
    headers = intake.headers()
    assert (
        OTLPSpanExporter(endpoint=f"{intake.base}/v1/traces", headers=headers).export(sdk.spans())
        == SpanExportResult.SUCCESS
    )
    logs = OTLPLogExporter(endpoint=f"{intake.base}/v1/logs", headers=headers)
    assert logs.export(sdk.logs()).name == "SUCCESS"
    metrics = OTLPMetricExporter(
        endpoint=f"{intake.base}/v1/metrics", headers=headers, compression=Compression.Gzip
    )
    assert metrics.export(sdk.metrics()).name == "SUCCESS"
    assert len(spool.waiting(intake.home)) == 3  # spooled before the answer
    intake.fold()
    rows = intake.sql("SELECT team, name, status_code, endpoint FROM spans ORDER BY name")
    assert {r["team"] for r in rows} == {"shop"}
    assert ("db.query", "error") in {(r["name"], r["status_code"]) for r in rows}  # kept: an error
    assert intake.sql("SELECT count(*) AS n FROM logs")[0]["n"] == len(sdk.logs())
    assert intake.sql("SELECT count(DISTINCT name) AS n FROM metrics")[0]["n"] >= 3


def test_pii_is_masked_before_anything_is_stored(intake: Intake) -> None:
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{intake.base}/v1/traces", headers=intake.headers())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("shop")
    with tracer.start_as_current_span("POST /pay") as span:
        span.set_attribute("gen_ai.prompt", "card 4111 1111 1111 1111, mail a.b@example.org")
        span.set_attribute("user.email", "jane@example.org")
        span.set_status(Status(StatusCode.ERROR))
    provider.shutdown()
    raw = b"".join(f.path.read_bytes() for f in spool.waiting(intake.home))
    # the card with its spaces: hex trace ids in the same file may hold the digits "4111"
    assert b"4111 1111" not in raw and b"example.org" not in raw
    telemetry.set_unmasked(as_principal(intake.admin, "steward"), "shop", ["user.email"],
                           reason="support answers customers by mail")  # fmt: skip
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"{intake.base}/v1/traces", headers=intake.headers())))  # fmt: skip
    with provider.get_tracer("shop").start_as_current_span("POST /pay") as span:
        span.set_attribute("user.email", "jane@example.org")
        span.set_status(Status(StatusCode.ERROR))
    provider.shutdown()
    time.sleep(1.1)  # the receiver caches a caller for a second, not the allow-list
    intake.fold()
    emails = {r["e"] for r in intake.sql("SELECT attributes->>'$.\"user.email\"' AS e FROM spans")}
    assert emails == {"[email]", "jane@example.org"}


def test_partial_success_counts_rejected_spans(intake: Intake) -> None:
    request = sdk.traces_request(sdk.spans())
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x00" * 16
    answer = httpx.post(f"{intake.base}/v1/traces", content=request.SerializeToString(),
                        headers=intake.headers(**{"content-type": "application/x-protobuf"}))  # fmt: skip
    assert answer.status_code == 200
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    body = ExportTraceServiceResponse.FromString(answer.content)
    assert body.partial_success.rejected_spans == 1
    assert "trace_id" in body.partial_success.error_message


def test_otlp_json_and_the_native_arrow_batch(intake: Intake) -> None:
    import json

    doc = sdk.otlp_json(sdk.traces_request(sdk.spans()))
    answer = httpx.post(f"{intake.base}/v1/traces", content=gzip.compress(json.dumps(doc).encode()),
                        headers=intake.headers(**{"content-type": "application/json",
                                                  "content-encoding": "gzip"}))  # fmt: skip
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/json"
    )
    table = span_rows([{"trace": 1, "span": 0, "status": "error"}], team="ignored")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    answer = httpx.post(f"{intake.base}/v1/andon/spans", content=sink.getvalue().to_pybytes(),
                        headers=intake.headers(**{"content-type": ARROW}))  # fmt: skip
    assert answer.status_code == 200 and answer.json()["rows"] == 1
    intake.fold()
    assert {r["team"] for r in intake.sql("SELECT DISTINCT team FROM spans")} == {"shop"}


def _status(answer: httpx.Response) -> str:
    return status_pb2.Status.FromString(answer.content).message


@pytest.mark.parametrize(
    ("headers", "body", "status", "words"),
    [
        ({"content-type": "text/plain"}, b"x", 415, "text/plain"),
        ({"content-type": "application/x-protobuf"}, b"\xff\xff\xff", 400, "protobuf"),
        ({"content-type": "application/x-protobuf", "content-encoding": "br"}, b"x", 415, "br"),
        ({"content-type": "application/x-protobuf", "x-andon-team": "nobody"}, b"", 404, "nobody"),
        ({"content-type": "application/x-protobuf", "x-andon-team": "other"}, b"", 403, "telemetry.write"),
        ({"content-type": "application/x-protobuf",
          "content-encoding": "gzip"}, gzip.compress(b"\0" * (200 * 1024 * 1024), mtime=0), 413, "bytes"),
    ],
    ids=["content-type", "not-protobuf", "encoding", "unknown-team", "other-team", "bomb"],
)  # fmt: skip
def test_bad_requests_get_a_clear_4xx_and_store_nothing(
    intake: Intake, headers: dict[str, str], body: bytes, status: int, words: str
) -> None:
    answer = httpx.post(f"{intake.base}/v1/traces", content=body, headers=intake.headers(**headers))
    assert answer.status_code == status
    assert words in _status(answer)
    assert spool.waiting(intake.home) == []


def test_a_request_without_a_valid_token_is_401(intake: Intake) -> None:
    for headers in ({}, {"authorization": "Bearer andon_" + "x" * 43}):
        answer = httpx.post(f"{intake.base}/v1/traces", content=b"",
                            headers={"content-type": "application/x-protobuf", **headers})  # fmt: skip
        assert answer.status_code == 401
    assert spool.waiting(intake.home) == []


def test_the_demo_traffic_is_otlp_json_the_receiver_takes_and_masks(intake: Intake) -> None:
    said: list[str] = []
    tour.send(intake.base, intake.token, "shop", said.append)
    assert "200" in said[0] and "0 rejected" in said[0]
    intake.fold()
    rows = intake.sql(
        "SELECT count(*) AS n, count(DISTINCT trace_id) AS traces, "
        "bool_or(attributes LIKE '%example.org%' OR attributes LIKE '%4111%') AS leaked "
        "FROM spans WHERE status_code = 'error'"
    )
    assert rows == [{"n": 8, "traces": 4, "leaked": False}]  # 4 failing traces of 20, kept
    with pytest.raises(Invalid, match="401"):
        tour.send(intake.base, "andon_not-a-token", "shop", said.append)
