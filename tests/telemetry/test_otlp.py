"""The OTLP codec on spans: bodies, content types and encodings, decoding, answers, export.

Requests come from the real OpenTelemetry SDK and its own OTLP encoder, from the OTLP
specification's JSON example, and from the gateway's own spool files; bad ones are built with
the protobuf classes.
"""

from __future__ import annotations

import gzip
import json
import struct
import time
import tracemalloc
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from andon.core.errors import Invalid, TooLarge, UnsupportedMediaType
from andon.gateway.spans import RequestSpan, Spool
from andon.telemetry import otlp
from andon.telemetry.schema import SPANS
from tests.telemetry import sdk

NOW = 1_800_000_000 * 10**9  # 2027-01-15, the receiver's clock for hand-built requests
T0 = NOW - 3_600 * 10**9
TRACE, SPAN_ID = bytes(range(1, 17)), bytes(range(1, 9))

# The OTLP specification's example (opentelemetry-proto examples/trace.json), as a client sends it.
SPEC_TRACE = """{"resourceSpans": [{
  "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
  "scopeSpans": [{
    "scope": {"name": "my.library", "version": "1.0.0", "attributes": [
      {"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
    "spans": [{
      "traceId": "5B8EFFF798038103D269B633813FC60C",
      "spanId": "EEE19B7EC3C1B174",
      "parentSpanId": "EEE19B7EC3C1B173",
      "name": "I'm a server span",
      "startTimeUnixNano": "1544712660000000000",
      "endTimeUnixNano": "1544712661000000000",
      "kind": 2,
      "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}]
    }]
  }]
}]}"""


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1000 / 1e6, UTC).replace(tzinfo=None)


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _decode(request: Any, now_ns: int | None = None) -> otlp.Decoded:
    return otlp.decode_traces(request.SerializeToString(), False, "risk", now_ns or time.time_ns())


def _request(*spans: Span, resource: dict[str, str] | None = None) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in ({"service.name": "svc"} if resource is None else resource).items():
        kv = resource_spans.resource.attributes.add()
        kv.key, kv.value.string_value = key, value
    resource_spans.scope_spans.add().spans.extend(spans)
    return request


def _span(**fields: Any) -> Span:
    values: dict[str, Any] = {
        "trace_id": TRACE,
        "span_id": SPAN_ID,
        "name": "work",
        "start_time_unix_nano": T0,
        "end_time_unix_nano": T0 + 2_500_000,
    }
    values.update(fields)
    return Span(**values)


# --- content types and encodings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "as_json"),
    [
        ("application/x-protobuf", False),
        ("Application/X-Protobuf", False),
        ("application/json", True),
        ("application/json; charset=utf-8", True),
    ],
)
def test_otlp_content_types_are_read(content_type: str, as_json: bool) -> None:
    assert otlp.decode_body(b"abc", content_type, None, 10) == b"abc"
    assert otlp.is_json(content_type) is as_json


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/xml", "json"])
def test_other_content_types_are_refused_as_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        otlp.decode_body(b"{}", content_type, None, 10)
    assert caught.value.http_status == 415 and caught.value.field == "content_type"
    assert "application/x-protobuf" in caught.value.message


def test_gzip_deflate_identity_and_concatenated_gzip_members_are_undone() -> None:
    body = b"x" * 5_000 + b"y" * 5_000
    for encoding, sent in [
        (None, body),
        ("identity", body),
        ("gzip", gzip.compress(body)),
        ("GZIP", gzip.compress(body)),
        ("deflate", zlib.compress(body)),
        ("gzip", gzip.compress(body[:5_000]) + gzip.compress(body[5_000:])),
    ]:
        assert otlp.decode_body(sent, otlp.PROTOBUF, encoding, 10_000) == body, encoding


def test_an_unknown_encoding_is_refused_as_415() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        otlp.decode_body(b"...", otlp.JSON, "br", 100)
    assert caught.value.field == "content_encoding" and "'br'" in caught.value.message


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"not gzip at all"),
        ("gzip", gzip.compress(b"a" * 1_000, mtime=0)[:-12]),  # truncated
        ("gzip", b""),
        ("gzip", gzip.compress(b"a", mtime=0) + b"trailing junk"),
        ("deflate", zlib.compress(b"a") + b"junk"),
    ],
    ids=["not-gzip", "truncated", "empty", "trailing-junk", "deflate-junk"],
)
def test_a_broken_compressed_body_is_invalid(encoding: str, body: bytes) -> None:
    with pytest.raises(Invalid) as caught:
        otlp.decode_body(body, otlp.PROTOBUF, encoding, 10_000)
    assert type(caught.value) is Invalid and caught.value.field == "body"


def test_a_body_over_the_limit_is_413_before_or_after_decompression() -> None:
    with pytest.raises(TooLarge) as caught:
        otlp.decode_body(b"x" * 101, otlp.PROTOBUF, None, 100)
    assert caught.value.http_status == 413
    assert otlp.decode_body(b"x" * 100, otlp.PROTOBUF, None, 100) == b"x" * 100
    assert otlp.decode_body(gzip.compress(b"x" * 100), otlp.PROTOBUF, "gzip", 100) == b"x" * 100
    with pytest.raises(TooLarge):
        otlp.decode_body(gzip.compress(b"x" * 101), otlp.PROTOBUF, "gzip", 100)


def _gzip_of_zeros(mib: int) -> bytes:
    """A valid single-stream gzip of ``mib`` MiB of zeros (about 1 KiB per MiB), built from
    one full-flushed compressed MiB repeated, so the test does not compress a gigabyte."""
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-8]
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return head + block * (mib - 1) + end + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)


def test_a_gzip_bomb_is_refused_quickly_with_bounded_memory() -> None:
    bomb = _gzip_of_zeros(1024)  # 1 GiB of zeros in about 1 MiB
    assert len(bomb) < 1_100_000
    assert zlib.decompressobj(31).decompress(bomb[:100_000], 1 << 20) == bytes(1 << 20)
    limit = 16 << 20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(TooLarge) as caught:
            otlp.decode_body(bomb, otlp.PROTOBUF, "gzip", limit)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "once decompressed" in caught.value.message
    assert elapsed < 2.0
    assert peak < limit + (4 << 20), peak  # what was kept up to the limit, and one step


# --- spans from the SDK -------------------------------------------------------------------


def test_sdk_spans_decode_field_by_field() -> None:
    finished = sdk.spans()
    decoded = _decode(sdk.traces_request(finished))
    assert decoded.rejected == 0 and decoded.messages == []
    assert decoded.table.schema == SPANS
    rows = {row["span_id"]: row for row in decoded.table.to_pylist()}
    assert len(rows) == len(finished) == 5
    for span in finished:
        row = rows[format(span.context.span_id, "016x")]
        assert row["team"] == "risk"
        assert row["trace_id"] == format(span.context.trace_id, "032x")
        assert row["parent_span_id"] == (format(span.parent.span_id, "016x") if span.parent else "")
        assert row["name"] == span.name
        assert row["kind"] == span.kind.name.lower()
        assert row["service_name"] == "checkout"
        assert json.loads(row["resource"]) == dict(span.resource.attributes)
        assert row["scope_name"] == "shop.orders"
        assert row["start_unix_nano"] == span.start_time
        assert row["end_unix_nano"] == span.end_time
        assert row["start_time"] == _utc(span.start_time) and row["end_time"] == _utc(span.end_time)
        assert row["day"] == _utc(span.start_time).date()
        assert row["duration_ms"] == (span.end_time - span.start_time) / 1e6
        assert row["status_code"] == span.status.status_code.name.lower()
        assert row["status_message"] == (span.status.description or "")
        attributes = {k: _json_value(v) for k, v in span.attributes.items()}
        assert json.loads(row["attributes"]) == attributes
        assert json.loads(row["events"]) == [
            {
                "time_unix_nano": e.timestamp,
                "name": e.name,
                "attributes": {k: _json_value(v) for k, v in e.attributes.items()},
            }
            for e in span.events
        ]
        assert json.loads(row["links"]) == [
            {
                "trace_id": format(link.context.trace_id, "032x"),
                "span_id": format(link.context.span_id, "016x"),
                "attributes": dict(link.attributes),
            }
            for link in span.links
        ]
    by_name = {row["name"]: row for row in rows.values()}
    assert by_name["GET /orders/{id}"]["endpoint"] == "/orders/{id}"  # http.route
    assert by_name["score"]["endpoint"] == "fraud-v2"  # andon.endpoint wins
    assert by_name["db.query"]["endpoint"] is None
    assert by_name["db.query"]["status_code"] == "error"


def test_protobuf_gzip_and_both_json_spellings_give_the_same_rows() -> None:
    request = sdk.traces_request(sdk.spans() + sdk.other_service_spans())
    now = time.time_ns()
    expected = otlp.decode_traces(request.SerializeToString(), False, "risk", now).table
    body = otlp.decode_body(
        gzip.compress(request.SerializeToString()), otlp.PROTOBUF, "gzip", 1 << 20
    )
    assert otlp.decode_traces(body, False, "risk", now).table.equals(expected)
    for snake_case in (False, True):
        doc = sdk.otlp_json(request, snake_case=snake_case)
        decoded = otlp.decode_traces(json.dumps(doc).encode(), True, "risk", now)
        assert decoded.table.equals(expected), snake_case


def test_the_specification_json_example_decodes() -> None:
    decoded = otlp.decode_traces(SPEC_TRACE.encode(), True, "web", NOW)
    assert decoded.rejected == 0
    [row] = decoded.table.to_pylist()
    assert row == {
        "team": "web",
        "trace_id": "5b8efff798038103d269b633813fc60c",
        "span_id": "eee19b7ec3c1b174",
        "parent_span_id": "eee19b7ec3c1b173",
        "name": "I'm a server span",
        "kind": "server",
        "service_name": "my.service",
        "endpoint": None,
        "start_time": datetime(2018, 12, 13, 14, 51, 0),
        "end_time": datetime(2018, 12, 13, 14, 51, 1),
        "start_unix_nano": 1544712660000000000,
        "end_unix_nano": 1544712661000000000,
        "duration_ms": 1000.0,
        "status_code": "unset",
        "status_message": "",
        "attributes": '{"my.span.attr":"some value"}',
        "resource": '{"service.name":"my.service"}',
        "scope_name": "my.library",
        "events": "[]",
        "links": "[]",
        "day": datetime(2018, 12, 13).date(),
    }


def test_unknown_json_fields_are_ignored_as_otlp_requires() -> None:
    doc = json.loads(SPEC_TRACE)
    doc["futureTopLevel"] = {"x": 1}
    doc["resourceSpans"][0]["futureResourceField"] = [1, 2]
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["futureSpanField"] = "soon"
    span["attributes"][0]["value"]["futureValueField"] = True
    decoded = otlp.decode_traces(json.dumps(doc).encode(), True, "web", NOW)
    assert decoded.table.equals(otlp.decode_traces(SPEC_TRACE.encode(), True, "web", NOW).table)


def test_the_gateways_spool_file_decodes(tmp_path: Path) -> None:
    started = time.time_ns()
    span = RequestSpan("POST /v1/chat/completions", "ab" * 16, "cd" * 8, "", started)
    span.attributes.update({"andon.endpoint": "chat", "andon.guard.decision": "pass"})
    spool = Spool(tmp_path, None)
    spool.finish(span, 503)
    path = spool.write(spool.take())
    assert path is not None
    [row] = otlp.decode_traces(path.read_bytes(), True, "gw", time.time_ns()).table.to_pylist()
    assert (row["trace_id"], row["span_id"], row["parent_span_id"]) == ("ab" * 16, "cd" * 8, "")
    assert (row["kind"], row["status_code"], row["endpoint"]) == ("server", "error", "chat")
    assert row["service_name"] == "andon-gateway" and row["scope_name"] == "andon.gateway"
    assert json.loads(row["attributes"])["http.response.status_code"] == 503


# --- bad bodies and bad spans -------------------------------------------------------------


@pytest.mark.parametrize("body", [b"\xff\xff\xff\xff", b"hello", b'{"resourceSpans": []}'])
def test_a_body_that_is_not_protobuf_is_invalid_naming_the_signal(body: bytes) -> None:
    with pytest.raises(Invalid) as caught:
        otlp.decode_traces(body, False, "t", NOW)
    assert caught.value.field == "body"
    assert caught.value.message == (
        "the traces body is not a valid OTLP protobuf ExportTraceServiceRequest"
    )


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (b"{not json", "body", "not valid JSON"),
        (b"[1, 2]", "body", "not a JSON object"),
        (b"[" * 100_000, "body", "not valid JSON"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}',
            "resourceSpans.scopeSpans.spans.name",
            "not a valid OTLP/JSON ExportTraceServiceRequest",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": '
            b'[{"key": "a", "value": {"intValue": "1.5"}}]}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue",
            "non-integer",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "not-hex"}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].traceId",
            "an id is hex, not 'not-hex'",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"links": [{"spanId": 7}]}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId",
            "hex string",
        ),
    ],
)
def test_bad_json_is_invalid_with_the_path(body: bytes, field: str, says: str) -> None:
    with pytest.raises(Invalid) as caught:
        otlp.decode_traces(body, True, "t", NOW)
    assert caught.value.field == field and says in caught.value.message
    assert caught.value.message.startswith("the traces body is not")


def test_bad_spans_are_rejected_and_counted_by_rule_and_the_rest_kept() -> None:
    request = _request(
        _span(name="good"),
        _span(name="root with zero parent", parent_span_id=bytes(8)),
        _span(trace_id=TRACE[:15]),
        _span(trace_id=TRACE + b"\x01"),
        _span(trace_id=bytes(16)),
        _span(span_id=b""),
        _span(span_id=bytes(8)),
        _span(parent_span_id=b"\x01\x02"),
        _span(start_time_unix_nano=0),
        _span(start_time_unix_nano=946_684_799 * 10**9, end_time_unix_nano=T0),
        _span(end_time_unix_nano=NOW + 86_400 * 10**9 + 1),
        _span(
            start_time_unix_nano=NOW + 2 * 86_400 * 10**9,
            end_time_unix_nano=NOW + 3 * 86_400 * 10**9,
        ),
        _span(end_time_unix_nano=T0 - 1),
        _span(end_time_unix_nano=0),
        _span(name="fine, a day ahead at most", end_time_unix_nano=NOW + 86_400 * 10**9),
    )
    decoded = _decode(request, NOW)
    assert decoded.rejected == 12
    assert decoded.messages == [
        "2 spans rejected: trace_id is not 16 bytes",
        "1 span rejected: trace_id is all zeros",
        "1 span rejected: span_id is not 8 bytes",
        "1 span rejected: span_id is all zeros",
        "1 span rejected: parent_span_id is neither empty nor 8 bytes",
        "1 span rejected: start_time_unix_nano is 0",
        "1 span rejected: start_time_unix_nano is before 2000-01-01",
        "1 span rejected: end_time_unix_nano is more than a day ahead of the receiver's clock",
        "1 span rejected: start_time_unix_nano is more than a day ahead of the receiver's clock",
        "1 span rejected: end_time_unix_nano is before start_time_unix_nano",
        "1 span rejected: end_time_unix_nano is 0",
    ]
    rows = decoded.table.to_pylist()
    assert [row["name"] for row in rows] == [
        "good",
        "root with zero parent",
        "fine, a day ahead at most",
    ]
    assert rows[1]["parent_span_id"] == ""


def test_json_ids_of_the_wrong_length_reject_the_span_not_the_batch() -> None:
    doc = json.loads(SPEC_TRACE)
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append(dict(spans[0], traceId="5B8EFFF798038103D269B633813FC6"))
    decoded = otlp.decode_traces(json.dumps(doc).encode(), True, "web", NOW)
    assert decoded.table.num_rows == 1 and decoded.rejected == 1
    assert decoded.messages == ["1 span rejected: trace_id is not 16 bytes"]


def test_an_empty_request_is_an_empty_table() -> None:
    for data, as_json in [(b"", False), (b"{}", True)]:
        decoded = otlp.decode_traces(data, as_json, "t", NOW)
        assert decoded.table.num_rows == 0 and decoded.table.schema == SPANS
        assert decoded.rejected == 0


def test_attribute_values_of_every_kind_become_json() -> None:
    span = _span()
    for key, field, value in [
        ("s", "string_value", "text"),
        ("b", "bool_value", True),
        ("i", "int_value", -(2**63)),
        ("d", "double_value", 1.5),
        ("nan", "double_value", float("nan")),
        ("inf", "double_value", float("-inf")),
        ("raw", "bytes_value", b"\x00\xff"),
    ]:
        kv = span.attributes.add()
        kv.key = key
        setattr(kv.value, field, value)
    nested = span.attributes.add()
    nested.key = "nested"
    inner = nested.value.kvlist_value.values.add()
    inner.key = "list"
    inner.value.array_value.values.add().int_value = 1
    inner.value.array_value.values.add()  # no value: null
    span.attributes.add().key = "unset"
    [row] = _decode(_request(span), NOW).table.to_pylist()
    assert json.loads(row["attributes"]) == {
        "s": "text",
        "b": True,
        "i": -(2**63),
        "d": 1.5,
        "nan": "NaN",
        "inf": "-Infinity",
        "raw": "AP8=",
        "nested": {"list": [1, None]},
        "unset": None,
    }


# --- answers ------------------------------------------------------------------------------


def test_a_full_success_leaves_partial_success_unset() -> None:
    body = otlp.success_body(0, "", False, "spans")
    assert body == b"" and not ExportTraceServiceResponse.FromString(body).HasField(
        "partial_success"
    )
    assert otlp.success_body(0, "", True, "spans") == b"{}"


def test_a_partial_success_carries_the_count_and_message_in_the_requests_encoding() -> None:
    message = "3 spans rejected: trace_id is not 16 bytes"
    response = ExportTraceServiceResponse.FromString(otlp.success_body(3, message, False, "spans"))
    assert response.partial_success.rejected_spans == 3
    assert response.partial_success.error_message == message
    assert json.loads(otlp.success_body(3, message, True, "spans")) == {
        "partialSuccess": {"rejectedSpans": "3", "errorMessage": message}
    }
    metrics = ExportMetricsServiceResponse.FromString(otlp.success_body(2, "m", False, "metrics"))
    assert metrics.partial_success.rejected_data_points == 2
    logs = json.loads(otlp.success_body(1, "l", True, "logs"))
    assert logs == {"partialSuccess": {"rejectedLogRecords": "1", "errorMessage": "l"}}
    assert ExportLogsServiceResponse.FromString(
        otlp.success_body(0, "a warning", False, "logs")
    ) == (ExportLogsServiceResponse(partial_success={"error_message": "a warning"}))


def test_the_decoders_are_there_for_each_signal() -> None:
    assert list(otlp.DECODERS) == ["spans", "metrics", "logs"]
    assert otlp.DECODERS["spans"] is otlp.decode_traces
    assert otlp.DECODERS["metrics"] is otlp.decode_metrics
    assert otlp.DECODERS["logs"] is otlp.decode_logs


# --- export -------------------------------------------------------------------------------


def test_encoded_spans_decode_to_the_same_rows() -> None:
    table = _decode(sdk.traces_request(sdk.spans() + sdk.other_service_spans())).table
    data = otlp.encode_traces(table)
    request = ExportTraceServiceRequest.FromString(data)
    services = [rs.resource.attributes for rs in request.resource_spans]
    assert len(services) == 2
    assert [[ss.scope.name for ss in rs.scope_spans] for rs in request.resource_spans] == [
        ["shop.orders"],
        ["billing.api", "billing.jobs"],
    ]
    again = otlp.decode_traces(data, False, "risk", time.time_ns()).table
    assert again.equals(table)


def test_export_of_a_row_from_the_native_api_names_its_service_and_endpoint() -> None:
    [row] = _decode(_request(_span(), resource={}), NOW).table.to_pylist()
    row.update(service_name="scorer", endpoint="fraud-v2")
    table = pa.Table.from_pylist([row], schema=SPANS)
    [again] = _decode(
        ExportTraceServiceRequest.FromString(otlp.encode_traces(table)), NOW
    ).table.to_pylist()
    assert again["service_name"] == "scorer" and again["endpoint"] == "fraud-v2"
    assert json.loads(again["resource"]) == {"service.name": "scorer"}
    assert json.loads(again["attributes"]) == {"andon.endpoint": "fraud-v2"}
