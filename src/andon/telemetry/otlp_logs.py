"""OTLP log records to rows of :data:`~andon.telemetry.schema.LOGS`.

A record's ``time`` is its ``time_unix_nano``, else its observed time; a missing observed time
is the receiver's clock, as the specification asks of a receiver. ``time_unix_nano`` is kept as
sent (0 when the record had none). A string body is kept as it is, any other body as JSON, no
body as "". Trace and span ids are hex, "" when absent or all zeros.

A record is rejected (and counted) when its time or observed time is before 2000-01-01 or more
than a day ahead of the receiver's clock, or an id is neither empty nor of its length.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from andon.telemetry.otlp_rows import (
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
from andon.telemetry.otlp_values import attributes_json, dumps, value_of
from andon.telemetry.schema import LOGS

_TEXT = (
    *("service_name", "severity_text", "body", "trace_id", "span_id", "event_name"),
    *("attributes", "resource", "scope_name"),
)


def _problem(raw_time: int, at: int, observed: int, record: Any, now_ns: int) -> str | None:
    problem = time_problem("time_unix_nano" if raw_time else "observed_time_unix_nano", at, now_ns)
    if problem is None and raw_time:
        problem = time_problem("observed_time_unix_nano", observed, now_ns)
    if problem:
        return problem
    if len(record.trace_id) not in (0, 16):
        return "trace_id is neither empty nor 16 bytes"
    if len(record.span_id) not in (0, 8):
        return "span_id is neither empty nor 8 bytes"
    return None


def _body(body: Any) -> str:
    which = body.WhichOneof("value")
    if which == "string_value":
        return str(body.string_value)
    return dumps(value_of(body)) if which else ""


def decode_logs(data: bytes, as_json: bool, team: str, now_ns: int) -> Decoded:
    """The log records of an ``ExportLogsServiceRequest`` body (protobuf, or OTLP/JSON when
    ``as_json``) as rows of :data:`LOGS` for ``team``; ``now_ns`` is the receiver's clock."""
    request = parse_request(data, as_json, ExportLogsServiceRequest, "logs")
    rejections = Rejections("log record", "log records")
    text: dict[str, list[Any]] = {name: [] for name in _TEXT}
    times: list[int] = []
    raw_times: list[int] = []
    observed_times: list[int] = []
    severities: list[int] = []
    for resource_logs in request.resource_logs:
        resource, service = resource_of(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                raw_time = record.time_unix_nano
                observed = record.observed_time_unix_nano or now_ns
                at = raw_time or observed
                problem = _problem(raw_time, at, observed, record, now_ns)
                if problem:
                    rejections.add(problem)
                    continue
                times.append(at)
                raw_times.append(raw_time)
                observed_times.append(observed)
                severities.append(record.severity_number)
                trace_id, span_id = record.trace_id, record.span_id
                text["service_name"].append(service)
                text["severity_text"].append(record.severity_text)
                text["body"].append(_body(record.body))
                text["trace_id"].append("" if trace_id == ZERO_TRACE else trace_id.hex())
                text["span_id"].append("" if span_id == ZERO_SPAN else span_id.hex())
                text["event_name"].append(record.event_name)
                text["attributes"].append(attributes_json(record.attributes))
                text["resource"].append(resource)
                text["scope_name"].append(scope)
    arrays = text_columns(text)
    _, arrays["time"], arrays["day"] = time_columns(times)
    arrays["time_unix_nano"] = pa.array(raw_times, pa.int64())
    arrays["observed_unix_nano"] = pa.array(observed_times, pa.int64())
    arrays["severity_number"] = pa.array(severities, pa.int32())
    arrays["team"] = team_column(team, len(times))
    table = pa.Table.from_arrays([arrays[name] for name in LOGS.names], schema=LOGS)
    return rejections.decoded(table)
