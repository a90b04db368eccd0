"""OTLP spans to rows of :data:`~andon.telemetry.schema.SPANS`, and kept rows back to OTLP.

A span is rejected (and counted) unless it has a 16-byte trace id and an 8-byte span id,
neither all zeros, a parent span id that is empty or 8 bytes (all zeros is read as a root),
and start and end times that are not 0, not before 2000-01-01, not more than a day ahead of the
receiver's clock, the end not before the start.

``service_name`` is the resource's ``service.name``; ``endpoint`` the span's
``andon.endpoint`` attribute, else its ``http.route``. Events are kept as
``[{time_unix_nano, name, attributes}]`` and links as ``[{trace_id, span_id, attributes}]``.
Not kept: trace state, flags, dropped counts, the scope's version and attributes, schema URLs.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from andon.telemetry.otlp_rows import (
    AHEAD_NS,
    EARLIEST_NS,
    ZERO_SPAN,
    ZERO_TRACE,
    Decoded,
    Rejections,
    parse_request,
    resource_of,
    team_column,
    text_columns,
    time_columns,
    time_problem,
)
from andon.telemetry.otlp_values import attributes_of, dumps, fill_attributes
from andon.telemetry.schema import SPANS

SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
"""``Span.kind`` names by their enum number."""
STATUS_CODES = ("unset", "ok", "error")
"""``Status.code`` names by their enum number."""
_KIND_NUMBERS = {name: number for number, name in enumerate(SPAN_KINDS)}
_STATUS_NUMBERS = {name: number for number, name in enumerate(STATUS_CODES)}
_TEXT = (
    *("trace_id", "span_id", "parent_span_id", "name", "kind", "service_name", "endpoint"),
    *("status_code", "status_message", "attributes", "resource", "scope_name", "events", "links"),
)


def _endpoint(attributes: dict[str, Any]) -> str | None:
    for key in ("andon.endpoint", "http.route"):
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _problem(span: Any, now_ns: int) -> str:
    trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16:
        return "trace_id is not 16 bytes"
    if trace_id == ZERO_TRACE:
        return "trace_id is all zeros"
    if len(span_id) != 8:
        return "span_id is not 8 bytes"
    if span_id == ZERO_SPAN:
        return "span_id is all zeros"
    if len(parent) not in (0, 8):
        return "parent_span_id is neither empty nor 8 bytes"
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    return (
        time_problem("start_time_unix_nano", start, now_ns)
        or time_problem("end_time_unix_nano", end, now_ns)
        or "end_time_unix_nano is before start_time_unix_nano"
    )


def _events(events: Any) -> str:
    return dumps(
        [
            {
                "time_unix_nano": e.time_unix_nano,
                "name": e.name,
                "attributes": attributes_of(e.attributes),
            }
            for e in events
        ]
    )


def _links(links: Any) -> str:
    return dumps(
        [
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "attributes": attributes_of(link.attributes),
            }
            for link in links
        ]
    )


def decode_traces(data: bytes, as_json: bool, team: str, now_ns: int) -> Decoded:
    """The spans of an ``ExportTraceServiceRequest`` body (protobuf, or OTLP/JSON when
    ``as_json``) as rows of :data:`SPANS` for ``team``; ``now_ns`` is the receiver's clock."""
    request = parse_request(data, as_json, ExportTraceServiceRequest, "traces")
    rejections = Rejections("span", "spans")
    latest = now_ns + AHEAD_NS
    text: dict[str, list[Any]] = {name: [] for name in _TEXT}
    trace_ids, span_ids, parents, names = (
        text["trace_id"], text["span_id"], text["parent_span_id"], text["name"]
    )  # fmt: skip
    kinds, services, endpoints = text["kind"], text["service_name"], text["endpoint"]
    codes, status_messages = text["status_code"], text["status_message"]
    attributes, resources, scopes = text["attributes"], text["resource"], text["scope_name"]
    events, links = text["events"], text["links"]
    starts: list[int] = []
    ends: list[int] = []
    for resource_spans in request.resource_spans:
        resource, service = resource_of(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                # One test for the common case; _problem says which rule a bad span broke.
                if not (
                    len(trace_id) == 16
                    and len(span_id) == 8
                    and len(parent) in (0, 8)
                    and EARLIEST_NS <= start <= end <= latest
                    and trace_id != ZERO_TRACE
                    and span_id != ZERO_SPAN
                ):
                    rejections.add(_problem(span, now_ns))
                    continue
                span_attributes = attributes_of(span.attributes)
                trace_ids.append(trace_id.hex())
                span_ids.append(span_id.hex())
                parents.append("" if not parent or parent == ZERO_SPAN else parent.hex())
                names.append(span.name)
                kind = span.kind
                kinds.append(SPAN_KINDS[kind] if 0 <= kind < 6 else "unspecified")
                services.append(service)
                endpoints.append(_endpoint(span_attributes))
                starts.append(start)
                ends.append(end)
                status = span.status
                code = status.code
                codes.append(STATUS_CODES[code] if 0 <= code < 3 else "unset")
                status_messages.append(status.message)
                attributes.append(dumps(span_attributes) if span_attributes else "{}")
                resources.append(resource)
                scopes.append(scope)
                events.append(_events(span.events) if span.events else "[]")
                links.append(_links(span.links) if span.links else "[]")
    arrays = text_columns(text)
    arrays["start_unix_nano"], arrays["start_time"], arrays["day"] = time_columns(starts)
    arrays["end_unix_nano"], arrays["end_time"], _ = time_columns(ends)
    durations = [(end - start) / 1e6 for start, end in zip(starts, ends, strict=True)]
    arrays["duration_ms"] = pa.array(durations, pa.float64())
    arrays["team"] = team_column(team, len(starts))
    table = pa.Table.from_arrays([arrays[name] for name in SPANS.names], schema=SPANS)
    return rejections.decoded(table)


def encode_traces(table: pa.Table) -> bytes:
    """Rows of :data:`SPANS` as a protobuf ``ExportTraceServiceRequest``, for another collector.

    Spans are grouped by resource and scope in the order they first appear; decoding the
    result gives the same rows back (given the same team). A row whose ``service_name`` or
    ``endpoint`` is not in its resource or attributes (a row from the native batch API) gets
    ``service.name`` in its resource and ``andon.endpoint`` among its attributes.
    """
    columns = {name: table.column(name).to_pylist() for name in SPANS.names if name != "team"}
    request = ExportTraceServiceRequest()
    resources: dict[tuple[str, str], Any] = {}
    scopes: dict[tuple[str, str, str], Any] = {}
    for i in range(table.num_rows):
        resource_json, service = columns["resource"][i], columns["service_name"][i]
        scope_name = columns["scope_name"][i]
        scope_spans = scopes.get((resource_json, service, scope_name))
        if scope_spans is None:
            resource_spans = resources.get((resource_json, service))
            if resource_spans is None:
                resource_spans = request.resource_spans.add()
                resource = json.loads(resource_json)
                if service and "service.name" not in resource:
                    resource["service.name"] = service
                fill_attributes(resource_spans.resource.attributes, resource)
                resources[(resource_json, service)] = resource_spans
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = scope_name
            scopes[(resource_json, service, scope_name)] = scope_spans
        span = scope_spans.spans.add()
        span.trace_id = bytes.fromhex(columns["trace_id"][i])
        span.span_id = bytes.fromhex(columns["span_id"][i])
        span.parent_span_id = bytes.fromhex(columns["parent_span_id"][i])
        span.name = columns["name"][i]
        span.kind = _KIND_NUMBERS.get(columns["kind"][i], 0)
        span.start_time_unix_nano = columns["start_unix_nano"][i]
        span.end_time_unix_nano = columns["end_unix_nano"][i]
        attributes = json.loads(columns["attributes"][i])
        endpoint = columns["endpoint"][i]
        if endpoint and "andon.endpoint" not in attributes and "http.route" not in attributes:
            attributes["andon.endpoint"] = endpoint
        fill_attributes(span.attributes, attributes)
        for event in json.loads(columns["events"][i]):
            added = span.events.add()
            added.time_unix_nano = event.get("time_unix_nano") or 0
            added.name = event.get("name") or ""
            fill_attributes(added.attributes, event.get("attributes") or {})
        for link in json.loads(columns["links"][i]):
            added = span.links.add()
            added.trace_id = bytes.fromhex(link.get("trace_id") or "")
            added.span_id = bytes.fromhex(link.get("span_id") or "")
            fill_attributes(added.attributes, link.get("attributes") or {})
        span.status.code = _STATUS_NUMBERS.get(columns["status_code"][i], 0)
        span.status.message = columns["status_message"][i]
    return bytes(request.SerializeToString())
