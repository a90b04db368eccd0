"""OTLP/JSON request bodies, parsed by the OpenTelemetry protobuf definitions.

OTLP/JSON is the proto3 JSON mapping with one difference that matters for parsing: trace and
span ids are case-insensitive hex, not base64 (the OTLP specification, "JSON Protobuf
Encoding"). So the document's ids (spans, span links, log records, exemplars) are rewritten to
base64 and the rest is left to ``google.protobuf.json_format``, which takes lowerCamelCase or
the proto's snake_case keys, enums as integers or names, and 64-bit integers as strings or
numbers. Unknown fields are ignored, as the specification requires of receivers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format

from andon.core.errors import Invalid

_ID_KEYS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")
_POINT_KINDS = (
    ("gauge", "gauge"),
    ("sum", "sum"),
    ("histogram", "histogram"),
    ("exponentialHistogram", "exponential_histogram"),
)


def _children(
    parent: dict[str, Any], camel: str, snake: str, path: str
) -> Iterator[tuple[Any, str]]:
    key = camel if camel in parent else snake
    items = parent.get(key)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield item, f"{path}.{key}[{i}]" if path else f"{key}[{i}]"


class _BadId(ValueError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


def _hex_ids_to_base64(record: dict[str, Any], path: str) -> None:
    for key in _ID_KEYS:
        value = record.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _BadId(f"{path}.{key}", "an id is a hex string")
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise _BadId(f"{path}.{key}", f"an id is hex, not {value[:40]!r}") from None
        record[key] = base64.b64encode(raw).decode("ascii")


def _rewrite_traces(doc: dict[str, Any]) -> None:
    for rs, rs_path in _children(doc, "resourceSpans", "resource_spans", ""):
        for ss, ss_path in _children(rs, "scopeSpans", "scope_spans", rs_path):
            for span, span_path in _children(ss, "spans", "spans", ss_path):
                _hex_ids_to_base64(span, span_path)
                for link, link_path in _children(span, "links", "links", span_path):
                    _hex_ids_to_base64(link, link_path)


def _rewrite_logs(doc: dict[str, Any]) -> None:
    for rl, rl_path in _children(doc, "resourceLogs", "resource_logs", ""):
        for sl, sl_path in _children(rl, "scopeLogs", "scope_logs", rl_path):
            for record, record_path in _children(sl, "logRecords", "log_records", sl_path):
                _hex_ids_to_base64(record, record_path)


def _rewrite_metrics(doc: dict[str, Any]) -> None:
    for rm, rm_path in _children(doc, "resourceMetrics", "resource_metrics", ""):
        for sm, sm_path in _children(rm, "scopeMetrics", "scope_metrics", rm_path):
            for metric, metric_path in _children(sm, "metrics", "metrics", sm_path):
                for camel, snake in _POINT_KINDS:
                    key = camel if camel in metric else snake
                    data = metric.get(key)
                    if not isinstance(data, dict):
                        continue
                    points = _children(data, "dataPoints", "data_points", f"{metric_path}.{key}")
                    for point, point_path in points:
                        for exemplar, ex_path in _children(
                            point, "exemplars", "exemplars", point_path
                        ):
                            _hex_ids_to_base64(exemplar, ex_path)


_REWRITES = {
    "ExportTraceServiceRequest": _rewrite_traces,
    "ExportLogsServiceRequest": _rewrite_logs,
    "ExportMetricsServiceRequest": _rewrite_metrics,
}


def _where(exc: Exception, name: str) -> tuple[str, str]:
    """json_format's error as (path, what is wrong): it nests ``Failed to parse X field: ``
    per level and may end with `` at ExportTraceServiceRequest.path[0].to.field``."""
    text = str(exc).rstrip(".")
    fields = []
    while text.startswith("Failed to parse ") and " field: " in text:
        head, text = text[len("Failed to parse ") :].split(" field: ", 1)
        fields.append(head)
    text, at, path = text.partition(f" at {name}")
    return (path.strip(".") if at else ".".join(fields)) or "body", text


def parse(data: bytes, request_type: Any, signal: str) -> Any:
    """An ``Export*ServiceRequest`` of ``request_type`` from an OTLP/JSON body of ``signal``."""
    name = request_type.DESCRIPTOR.name
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise Invalid(f"the {signal} body is not valid JSON: {exc}", field="body") from None
    if not isinstance(doc, dict):
        raise Invalid(f"the {signal} body is not a JSON object ({name})", field="body")
    try:
        _REWRITES[name](doc)
    except _BadId as exc:
        raise Invalid(
            f"the {signal} body is not valid OTLP/JSON: {exc.problem}", field=exc.path
        ) from None
    try:
        return json_format.ParseDict(doc, request_type(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        path, problem = _where(exc, name)
        raise Invalid(
            f"the {signal} body is not a valid OTLP/JSON {name}: {problem}", field=path
        ) from None
