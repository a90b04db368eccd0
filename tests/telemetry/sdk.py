"""Telemetry made by the real OpenTelemetry SDK and encoded by its own OTLP exporter code."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

RESOURCE = {"service.name": "checkout", "deployment.environment": "prod"}


def _tracer_provider(resource: dict[str, Any]) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def spans() -> list[ReadableSpan]:
    """A request with children of every kind, typed attributes, events, a link and an error."""
    provider, exporter = _tracer_provider(RESOURCE)
    tracer = provider.get_tracer("shop.orders", "1.2.0")
    with tracer.start_as_current_span("GET /orders/{id}", kind=SpanKind.SERVER) as root:
        root.set_attributes(
            {
                "http.route": "/orders/{id}",
                "http.response.status_code": 200,
                "ratio": 0.25,
                "cached": False,
                "tags": ("a", "b"),
                "sizes": (1, 2, 3),
                "weights": (0.5, 1.5),
                "flags": (True, False),
            }
        )
        root.add_event("cache.miss", {"key": "order:1", "tries": 2})
        root.add_event("no attributes")
        with tracer.start_as_current_span("db.query", kind=SpanKind.CLIENT) as db:
            db.set_attribute("db.system", "postgresql")
            db.set_status(Status(StatusCode.ERROR, "deadlock detected"))
        with tracer.start_as_current_span("score", kind=SpanKind.INTERNAL) as score:
            score.set_attribute("andon.endpoint", "fraud-v2")
            score.set_attribute("http.route", "/score")
            score.set_status(Status(StatusCode.OK))
        link = Link(root.get_span_context(), {"link.reason": "retry"})
        with tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER, links=[link]):
            pass
    with tracer.start_as_current_span("consume", kind=SpanKind.CONSUMER):
        pass
    return list(exporter.get_finished_spans())


def other_service_spans() -> list[ReadableSpan]:
    """Spans from a second service and two scopes, to group by resource and scope."""
    provider, exporter = _tracer_provider({"service.name": "billing"})
    for scope in ("billing.api", "billing.jobs"):
        with provider.get_tracer(scope).start_as_current_span(f"{scope} work"):
            pass
    return list(exporter.get_finished_spans())


def traces_request(finished: Sequence[ReadableSpan]) -> Any:
    """The SDK's ``ExportTraceServiceRequest`` for ``finished``."""
    return encode_spans(finished)


def logs() -> list[ReadableLogRecord]:
    """Log records with string, map and no bodies, one inside a span, one without a time."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create(RESOURCE))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("shop.logs")
    tracer_provider, _ = _tracer_provider(RESOURCE)
    with tracer_provider.get_tracer("t").start_as_current_span("handling"):
        logger.emit(
            timestamp=1_780_000_000_123_456_789,
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="payment retried",
            attributes={"order.id": "o-1", "attempt": 2},
        )
    logger.emit(
        severity_number=SeverityNumber.INFO,
        body={"event": "shipped", "items": [1, 2], "gift": True},
        event_name="order.shipped",
    )
    logger.emit(timestamp=1_780_000_000_000_000_000, severity_number=SeverityNumber.ERROR)
    return list(exporter.get_finished_logs())


def logs_request(records: Sequence[ReadableLogRecord]) -> Any:
    """The SDK's ``ExportLogsServiceRequest`` for ``records``."""
    return encode_logs(records)


def metrics() -> MetricsData:
    """A counter, an up-down counter, a gauge, an explicit and an exponential histogram."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        resource=Resource.create(RESOURCE),
        metric_readers=[reader],
        views=[
            View(
                instrument_name="payload.size", aggregation=ExponentialBucketHistogramAggregation()
            )
        ],
    )
    meter = provider.get_meter("shop.metrics", "0.1")
    requests = meter.create_counter("http.requests", unit="1", description="requests served")
    requests.add(3, {"route": "/orders"})
    requests.add(2, {"route": "/score"})
    meter.create_up_down_counter("queue.depth").add(-4)
    meter.create_gauge("cpu.temperature", unit="Cel").set(61.5, {"core": 0})
    latency = meter.create_histogram("http.duration", unit="ms")
    tracer_provider, _ = _tracer_provider(RESOURCE)
    with tracer_provider.get_tracer("t").start_as_current_span("request"):
        for value in (3.0, 12.0, 480.0):  # in a sampled span: exemplars with trace ids
            latency.record(value)
    size = meter.create_histogram("payload.size", unit="By")
    for value in (10, 200, 3000):
        size.record(value)
    data = reader.get_metrics_data()
    assert data is not None
    provider.shutdown()
    return data


def metrics_request(data: MetricsData) -> Any:
    """The SDK's ``ExportMetricsServiceRequest`` for ``data``."""
    return encode_metrics(data)


def _hex_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: base64.b64decode(value).hex()
            if key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
            else _hex_ids(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(item) for item in node]
    return node


def otlp_json(request: Any, *, snake_case: bool = False) -> dict[str, Any]:
    """``request`` as OTLP/JSON: proto3 JSON with hex ids and integer enums, or (to check
    what receivers also take) proto field names and enum names."""
    doc = json_format.MessageToDict(
        request, use_integers_for_enums=not snake_case, preserving_proto_field_name=snake_case
    )
    result: dict[str, Any] = _hex_ids(doc)
    return result
