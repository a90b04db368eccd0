"""The OTLP codec on metric points and log records, from the SDK, the spec's JSON and by hand."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    SummaryDataPoint,
)
from opentelemetry.sdk.metrics import export as sdk_metrics

from andon.core.errors import Invalid
from andon.telemetry import otlp, otlp_json
from andon.telemetry.schema import LOGS, METRICS
from tests.telemetry import sdk

NOW = 1_800_000_000 * 10**9
T0 = NOW - 3_600 * 10**9
DAY = 86_400 * 10**9
# The OTLP specification's examples (opentelemetry-proto examples/metrics.json, logs.json).
SPEC_METRICS = """{"resourceMetrics": [{
  "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
  "scopeMetrics": [{"scope": {"name": "my.library", "version": "1.0.0"}, "metrics": [
    {"name": "my.counter", "unit": "1", "description": "I am a Counter", "sum": {
      "aggregationTemporality": 1, "isMonotonic": true, "dataPoints": [{"asDouble": 5,
        "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
        "attributes": [{"key": "my.counter.attr", "value": {"stringValue": "some value"}}]}]}},
    {"name": "my.gauge", "unit": "1", "description": "I am a Gauge", "gauge": {"dataPoints": [
      {"asDouble": 10, "timeUnixNano": "1544712660300000000"}]}},
    {"name": "my.histogram", "unit": "1", "description": "I am a Histogram", "histogram": {
      "aggregationTemporality": 1, "dataPoints": [{"startTimeUnixNano": "1544712660300000000",
        "timeUnixNano": "1544712660300000000", "count": "2", "sum": 2, "bucketCounts": ["1","1"],
        "explicitBounds": [1], "min": 0, "max": 2}]}},
    {"name": "my.exponential.histogram", "unit": "1",
     "description": "I am an Exponential Histogram",
     "exponentialHistogram": {"aggregationTemporality": 1, "dataPoints": [{
        "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
        "count": "3", "sum": 10, "scale": 0, "zeroCount": "1",
        "positive": {"offset": 1, "bucketCounts": ["0","2"]}, "min": 0, "max": 5,
        "zeroThreshold": 0}]}}
  ]}]
}]}"""
SPEC_LOGS = """{"resourceLogs": [{
  "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
  "scopeLogs": [{"scope": {"name": "my.library", "version": "1.0.0"}, "logRecords": [{
    "timeUnixNano": "1544712660300000000", "observedTimeUnixNano": "1544712660300000000",
    "severityNumber": 10, "severityText": "Information",
    "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
    "body": {"stringValue": "Example log record"},
    "attributes": [
      {"key": "string.attribute", "value": {"stringValue": "some string"}},
      {"key": "boolean.attribute", "value": {"boolValue": true}},
      {"key": "int.attribute", "value": {"intValue": "10"}},
      {"key": "double.attribute", "value": {"doubleValue": 637.704}},
      {"key": "array.attribute", "value": {"arrayValue": {"values": [
        {"stringValue": "many"}, {"stringValue": "values"}]}}},
      {"key": "map.attribute", "value": {"kvlistValue": {"values": [
        {"key": "some.map.key", "value": {"stringValue": "some value"}}]}}}
    ]
  }]}]
}]}"""


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1000 / 1e6, UTC).replace(tzinfo=None)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


# --- metrics ------------------------------------------------------------------------------


def _sdk_point_row(metric: Any, point: Any) -> dict[str, Any]:
    data = metric.data
    row: dict[str, Any] = {
        "name": metric.name,
        "description": metric.description or "",
        "unit": metric.unit or "",
        "time_unix_nano": point.time_unix_nano,
        "start_unix_nano": point.start_time_unix_nano or 0,
        "attributes": dict(point.attributes or {}),
        "value": None,
        "count": None,
        "sum": None,
        "min": None,
        "max": None,
        "bounds": None,
        "bucket_counts": None,
        "monotonic": data.is_monotonic if isinstance(data, sdk_metrics.Sum) else None,
        "temporality": ""
        if isinstance(data, sdk_metrics.Gauge)
        else data.aggregation_temporality.name.lower(),
    }
    if isinstance(point, sdk_metrics.NumberDataPoint):
        row.update(
            type="gauge" if isinstance(data, sdk_metrics.Gauge) else "sum", value=float(point.value)
        )
    elif isinstance(point, sdk_metrics.HistogramDataPoint):
        assert isinstance(data, sdk_metrics.Histogram)
        row.update(type="histogram", count=point.count, sum=point.sum, min=point.min, max=point.max)
        row.update(bounds=list(point.explicit_bounds), bucket_counts=list(point.bucket_counts))
    else:
        assert isinstance(point, sdk_metrics.ExponentialHistogramDataPoint)
        row.update(type="exponential_histogram", count=point.count, sum=point.sum)
        row.update(min=point.min, max=point.max)
    return row


def test_sdk_metrics_decode_one_row_per_point_field_by_field() -> None:
    data = sdk.metrics()
    request = sdk.metrics_request(data)
    decoded = otlp.decode_metrics(request.SerializeToString(), False, "risk", time.time_ns())
    assert decoded.rejected == 0 and decoded.table.schema == METRICS
    [resource_metrics] = data.resource_metrics
    [scope_metrics] = resource_metrics.scope_metrics
    expected = [
        _sdk_point_row(metric, point)
        for metric in scope_metrics.metrics
        for point in metric.data.data_points
    ]
    rows = decoded.table.to_pylist()
    assert len(rows) == len(expected) == 6
    for row, want in zip(rows, expected, strict=True):
        assert row["team"] == "risk" and row["service_name"] == "checkout"
        assert row["scope_name"] == "shop.metrics"
        assert json.loads(row["resource"]) == dict(resource_metrics.resource.attributes)
        assert row["time"] == _utc(want["time_unix_nano"])
        assert row["day"] == row["time"].date()
        assert row["quantiles"] is None
        got = {k: row[k] for k in want}
        got["attributes"] = json.loads(row["attributes"])
        assert got == want
    assert {row["type"] for row in rows} == {"sum", "gauge", "histogram", "exponential_histogram"}


def test_the_specification_metrics_example_decodes() -> None:
    decoded = otlp.decode_metrics(SPEC_METRICS.encode(), True, "web", NOW)
    rows = decoded.table.to_pylist()
    assert decoded.rejected == 0
    picked = [
        {k: row[k] for k in ("name", "type", "temporality", "monotonic", "value", "count", "sum")}
        | {k: row[k] for k in ("min", "max", "bounds", "bucket_counts", "start_unix_nano")}
        for row in rows
    ]
    t = 1544712660300000000
    assert picked == [
        {"name": "my.counter", "type": "sum", "temporality": "delta", "monotonic": True}
        | {"value": 5.0, "count": None, "sum": None, "min": None, "max": None}
        | {"bounds": None, "bucket_counts": None, "start_unix_nano": t},
        {"name": "my.gauge", "type": "gauge", "temporality": "", "monotonic": None}
        | {"value": 10.0, "count": None, "sum": None, "min": None, "max": None}
        | {"bounds": None, "bucket_counts": None, "start_unix_nano": 0},
        {"name": "my.histogram", "type": "histogram", "temporality": "delta", "monotonic": None}
        | {"value": None, "count": 2, "sum": 2.0, "min": 0.0, "max": 2.0}
        | {"bounds": [1.0], "bucket_counts": [1, 1], "start_unix_nano": t},
        {"name": "my.exponential.histogram", "type": "exponential_histogram"}
        | {"temporality": "delta", "monotonic": None}
        | {"value": None, "count": 3, "sum": 10.0, "min": 0.0, "max": 5.0}
        | {"bounds": None, "bucket_counts": None, "start_unix_nano": t},
    ]
    assert all(row["time"] == datetime(2018, 12, 13, 14, 51, 0, 300000) for row in rows)
    assert rows[0]["attributes"] == '{"my.counter.attr":"some value"}'
    assert rows[0]["description"] == "I am a Counter" and rows[0]["unit"] == "1"


def _metrics_request(*metrics: Metric) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    scope = request.resource_metrics.add().scope_metrics.add()
    scope.scope.name = "hand"
    scope.metrics.extend(metrics)
    return request


def test_a_summary_keeps_count_sum_and_quantiles() -> None:
    metric = Metric(name="rpc.latency", unit="s")
    metric.summary.data_points.append(
        SummaryDataPoint(
            time_unix_nano=T0,
            count=10,
            sum=4.5,
            quantile_values=[
                SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=0.3),
                SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=float("inf")),
            ],
        )
    )
    [row] = otlp.decode_metrics(
        _metrics_request(metric).SerializeToString(), False, "t", NOW
    ).table.to_pylist()
    assert (row["type"], row["count"], row["sum"], row["value"]) == ("summary", 10, 4.5, None)
    assert json.loads(row["quantiles"]) == [
        {"quantile": 0.5, "value": 0.3},
        {"quantile": 0.99, "value": "Infinity"},
    ]
    assert row["service_name"] == "" and row["resource"] == "{}"


def test_bad_points_are_rejected_and_counted_and_an_empty_metric_has_no_rows() -> None:
    gauge = Metric(name="g")
    gauge.gauge.data_points.extend(
        [
            NumberDataPoint(time_unix_nano=T0, as_int=7),
            NumberDataPoint(time_unix_nano=0, as_double=1.0),
            NumberDataPoint(time_unix_nano=NOW + 2 * DAY, as_double=1.0),
            NumberDataPoint(time_unix_nano=T0, start_time_unix_nano=T0 + 1, as_double=1.0),
            NumberDataPoint(time_unix_nano=T0),  # no value: null
        ]
    )
    histogram = Metric(name="h")
    histogram.histogram.data_points.extend(
        [
            HistogramDataPoint(
                time_unix_nano=T0, count=2, bucket_counts=[1, 1], explicit_bounds=[5.0]
            ),
            HistogramDataPoint(
                time_unix_nano=T0, count=2, bucket_counts=[2], explicit_bounds=[5.0]
            ),
            HistogramDataPoint(time_unix_nano=T0, count=2**63),
            HistogramDataPoint(
                time_unix_nano=T0, count=1, bucket_counts=[2**64 - 1], explicit_bounds=[]
            ),
        ]
    )
    request = _metrics_request(gauge, histogram, Metric(name="no data"))
    decoded = otlp.decode_metrics(request.SerializeToString(), False, "t", NOW)
    assert decoded.rejected == 6
    assert decoded.messages == [
        "1 data point rejected: time_unix_nano is 0",
        "1 data point rejected: time_unix_nano is more than a day ahead of the receiver's clock",
        "1 data point rejected: start_time_unix_nano is after time_unix_nano",
        "1 data point rejected: bucket_counts is not one longer than explicit_bounds",
        "1 data point rejected: count does not fit in int64",
        "1 data point rejected: a bucket count does not fit in int64",
    ]
    rows = decoded.table.to_pylist()
    assert [(row["name"], row["value"], row["count"]) for row in rows] == [
        ("g", 7.0, None),
        ("g", None, None),
        ("h", None, 2),
    ]
    assert rows[2]["sum"] is None and rows[2]["min"] is None  # optional fields left unset


# --- logs ---------------------------------------------------------------------------------


def test_sdk_logs_decode_field_by_field() -> None:
    records = sdk.logs()
    now = time.time_ns()
    decoded = otlp.decode_logs(sdk.logs_request(records).SerializeToString(), False, "risk", now)
    assert decoded.rejected == 0 and decoded.table.schema == LOGS
    rows = decoded.table.to_pylist()
    assert len(rows) == len(records) == 3
    for row, readable in zip(rows, records, strict=True):
        record = readable.log_record
        at = record.timestamp or record.observed_timestamp
        assert row["team"] == "risk" and row["service_name"] == "checkout"
        assert row["scope_name"] == "shop.logs"
        assert row["time_unix_nano"] == (record.timestamp or 0)
        assert row["observed_unix_nano"] == record.observed_timestamp
        assert row["time"] == _utc(at) and row["day"] == _utc(at).date()
        assert row["severity_number"] == record.severity_number.value
        assert row["severity_text"] == (record.severity_text or "")
        body = record.body
        assert row["body"] == (
            body
            if isinstance(body, str)
            else ""
            if body is None
            else json.dumps(body, separators=(",", ":"))
        )
        assert row["trace_id"] == (format(record.trace_id, "032x") if record.trace_id else "")
        assert row["span_id"] == (format(record.span_id, "016x") if record.span_id else "")
        assert row["event_name"] == (record.event_name or "")
        assert json.loads(row["attributes"]) == _json_value(dict(record.attributes or {}))
        assert json.loads(row["resource"]) == dict(readable.resource.attributes)
    assert rows[0]["trace_id"] and rows[0]["body"] == "payment retried"
    assert rows[1]["time_unix_nano"] == 0 and rows[1]["event_name"] == "order.shipped"


def test_the_specification_logs_example_decodes() -> None:
    [row] = otlp.decode_logs(SPEC_LOGS.encode(), True, "web", NOW).table.to_pylist()
    assert row == {
        "team": "web",
        "service_name": "my.service",
        "time": datetime(2018, 12, 13, 14, 51, 0, 300000),
        "time_unix_nano": 1544712660300000000,
        "observed_unix_nano": 1544712660300000000,
        "severity_number": 10,
        "severity_text": "Information",
        "body": "Example log record",
        "trace_id": "5b8efff798038103d269b633813fc60c",
        "span_id": "eee19b7ec3c1b174",
        "event_name": "",
        "attributes": '{"string.attribute":"some string","boolean.attribute":true,'
        '"int.attribute":10,"double.attribute":637.704,"array.attribute":["many","values"],'
        '"map.attribute":{"some.map.key":"some value"}}',
        "resource": '{"service.name":"my.service"}',
        "scope_name": "my.library",
        "day": datetime(2018, 12, 13).date(),
    }


def _logs_request(*records: LogRecord) -> bytes:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.extend(records)
    return bytes(request.SerializeToString())


def test_a_log_time_falls_back_to_the_observed_time_then_the_receivers_clock() -> None:
    records = [
        LogRecord(time_unix_nano=T0, observed_time_unix_nano=T0 + 5),
        LogRecord(observed_time_unix_nano=T0 + 5),
        LogRecord(),
    ]
    rows = otlp.decode_logs(_logs_request(*records), False, "t", NOW).table.to_pylist()
    assert [(r["time_unix_nano"], r["observed_unix_nano"], r["time"]) for r in rows] == [
        (T0, T0 + 5, _utc(T0)),
        (0, T0 + 5, _utc(T0 + 5)),
        (0, NOW, _utc(NOW)),
    ]
    assert [r["body"] for r in rows] == ["", "", ""]


def test_bad_log_records_are_rejected_and_counted_and_zero_ids_read_as_none() -> None:
    good = LogRecord(time_unix_nano=T0, trace_id=bytes(16), span_id=bytes(8))
    good.body.int_value = 5
    records = [
        good,
        LogRecord(time_unix_nano=1_000),
        LogRecord(observed_time_unix_nano=NOW + 2 * DAY),
        LogRecord(time_unix_nano=T0, observed_time_unix_nano=2**64 - 1),
        LogRecord(time_unix_nano=T0, trace_id=b"\x01" * 8),
        LogRecord(time_unix_nano=T0, span_id=b"\x01" * 16),
    ]
    decoded = otlp.decode_logs(_logs_request(*records), False, "t", NOW)
    assert decoded.rejected == 5
    assert decoded.messages == [
        "1 log record rejected: time_unix_nano is before 2000-01-01",
        "2 log records rejected: observed_time_unix_nano is more than a day ahead of the receiver's clock",
        "1 log record rejected: trace_id is neither empty nor 16 bytes",
        "1 log record rejected: span_id is neither empty nor 8 bytes",
    ]
    [row] = decoded.table.to_pylist()
    assert (row["trace_id"], row["span_id"], row["body"]) == ("", "", "5")


# --- OTLP/JSON of every signal ------------------------------------------------------------


@pytest.mark.parametrize("signal", ["spans", "metrics", "logs"])
def test_otlp_json_parses_to_the_sdks_own_message(signal: str) -> None:
    request, request_type = {
        "spans": (sdk.traces_request(sdk.spans()), ExportTraceServiceRequest),
        "metrics": (sdk.metrics_request(sdk.metrics()), ExportMetricsServiceRequest),
        "logs": (sdk.logs_request(sdk.logs()), ExportLogsServiceRequest),
    }[signal]
    for snake_case in (False, True):
        body = json.dumps(sdk.otlp_json(request, snake_case=snake_case)).encode()
        # ids everywhere (spans, links, log records, exemplars) came through hex
        assert otlp_json.parse(body, request_type, signal) == request
        now = time.time_ns()
        assert otlp.DECODERS[signal](body, True, "t", now).table.equals(
            otlp.DECODERS[signal](request.SerializeToString(), False, "t", now).table
        )


@pytest.mark.parametrize(
    ("decode", "name"),
    [
        (otlp.decode_metrics, "ExportMetricsServiceRequest"),
        (otlp.decode_logs, "ExportLogsServiceRequest"),
    ],
)
def test_bad_metric_and_log_bodies_are_invalid_naming_the_signal(decode: Any, name: str) -> None:
    signal = "metrics" if "Metrics" in name else "logs"
    with pytest.raises(Invalid) as caught:
        decode(b"\xff\xff", False, "t", NOW)
    assert caught.value.message == f"the {signal} body is not a valid OTLP protobuf {name}"
    with pytest.raises(Invalid) as caught:
        decode(b'{"resourceMetrics": 1, "resourceLogs": 1}', True, "t", NOW)
    assert f"not a valid OTLP/JSON {name}" in caught.value.message
