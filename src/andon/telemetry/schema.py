"""The rows andon keeps for spans, metric points and log records, as Arrow schemas.

One schema per signal, shared by the intake (which decodes OTLP into these columns), the spool
(Arrow IPC files), the hot tier (DuckDB tables of the same columns) and the cold tier (Parquet
files partitioned by ``day`` and ``team``). Attribute maps are JSON object text (OTLP's
``AnyValue`` as JSON: strings, booleans, integers, doubles, arrays, objects; bytes as base64),
so SQL reads them with DuckDB's JSON operators (``attributes->>'$."http.route"'``). Times are
kept twice: exact nanoseconds since the epoch, and a UTC ``TIMESTAMP`` for people.
"""

from __future__ import annotations

import pyarrow as pa

SIGNALS = ("spans", "metrics", "logs")
"""The three signals, which are also the names of the query views."""

_TS = pa.timestamp("us")

SPANS = pa.schema(
    [
        pa.field("team", pa.string(), nullable=False),
        pa.field("trace_id", pa.string(), nullable=False),  # 32 lower-case hex digits
        pa.field("span_id", pa.string(), nullable=False),  # 16 lower-case hex digits
        pa.field("parent_span_id", pa.string(), nullable=False),  # "" for a root span
        pa.field("name", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # internal, server, client, ...
        pa.field("service_name", pa.string(), nullable=False),  # resource service.name, "" if none
        pa.field("endpoint", pa.string()),  # andon.endpoint, else http.route; null if neither
        pa.field("start_time", _TS, nullable=False),
        pa.field("end_time", _TS, nullable=False),
        pa.field("start_unix_nano", pa.int64(), nullable=False),
        pa.field("end_unix_nano", pa.int64(), nullable=False),
        pa.field("duration_ms", pa.float64(), nullable=False),
        pa.field("status_code", pa.string(), nullable=False),  # unset|ok|error
        pa.field("status_message", pa.string(), nullable=False),
        pa.field("attributes", pa.string(), nullable=False),  # JSON object
        pa.field("resource", pa.string(), nullable=False),  # JSON object of resource attributes
        pa.field("scope_name", pa.string(), nullable=False),
        pa.field("events", pa.string(), nullable=False),  # JSON [{time_unix_nano, name, ...}]
        pa.field("links", pa.string(), nullable=False),  # JSON [{trace_id, span_id, attributes}]
        pa.field("day", pa.date32(), nullable=False),  # UTC day of start_time
    ]
)

METRICS = pa.schema(
    [
        pa.field("team", pa.string(), nullable=False),
        pa.field("service_name", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),  # gauge, sum, histogram, summary, ...
        pa.field("temporality", pa.string(), nullable=False),  # ""|delta|cumulative
        pa.field("monotonic", pa.bool_()),  # sums only
        pa.field("time", _TS, nullable=False),
        pa.field("time_unix_nano", pa.int64(), nullable=False),
        pa.field("start_unix_nano", pa.int64(), nullable=False),
        pa.field("value", pa.float64()),  # gauge and sum points
        pa.field("count", pa.int64()),  # histograms and summaries
        pa.field("sum", pa.float64()),
        pa.field("min", pa.float64()),
        pa.field("max", pa.float64()),
        pa.field("bounds", pa.list_(pa.float64())),  # histogram explicit bounds
        pa.field("bucket_counts", pa.list_(pa.int64())),
        pa.field("quantiles", pa.string()),  # summary: JSON array of {quantile, value}
        pa.field("attributes", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
        pa.field("scope_name", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
    ]
)

LOGS = pa.schema(
    [
        pa.field("team", pa.string(), nullable=False),
        pa.field("service_name", pa.string(), nullable=False),
        pa.field("time", _TS, nullable=False),  # time_unix_nano, else observed time
        pa.field("time_unix_nano", pa.int64(), nullable=False),
        pa.field("observed_unix_nano", pa.int64(), nullable=False),
        pa.field("severity_number", pa.int32(), nullable=False),
        pa.field("severity_text", pa.string(), nullable=False),
        pa.field("body", pa.string(), nullable=False),  # a string body as is, any other as JSON
        pa.field("trace_id", pa.string(), nullable=False),  # "" when not in a trace
        pa.field("span_id", pa.string(), nullable=False),
        pa.field("event_name", pa.string(), nullable=False),
        pa.field("attributes", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
        pa.field("scope_name", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {"spans": SPANS, "metrics": METRICS, "logs": LOGS}
"""Each signal's schema by name."""
