"""Span rows in andon's schema, written the way a test reads them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from andon.telemetry.schema import SPANS


def trace_id(n: int) -> str:
    """The 32-hex-digit trace id of trace number ``n``."""
    return f"{n + 1:032x}"


def span_id(n: int) -> str:
    """The 16-hex-digit span id of span number ``n``."""
    return f"{n + 1:016x}"


def spans(rows: Iterable[Mapping[str, Any]], team: str = "home") -> pa.Table:
    """A SPANS table from short rows: ``trace``, ``span`` (numbers), ``parent`` (a span
    number, or absent for a root), ``ms``, ``status``, ``endpoint``, ``attrs``, ``start``,
    ``name``, ``service``, ``kind``."""
    columns: dict[str, list[Any]] = {f.name: [] for f in SPANS}
    for row in rows:
        start = int(row.get("start", time.time_ns()))
        end = start + int(float(row.get("ms", 10)) * 1_000_000)
        when = datetime.fromtimestamp(start / 1e9, UTC).replace(tzinfo=None)
        values = {
            "team": team,
            "trace_id": trace_id(row["trace"]),
            "span_id": span_id(row["span"]),
            "parent_span_id": span_id(row["parent"]) if row.get("parent") is not None else "",
            "name": row.get("name", "GET /x"),
            "kind": row.get("kind", "server"),
            "service_name": row.get("service", "shop"),
            "endpoint": row.get("endpoint"),
            "start_time": when,
            "end_time": datetime.fromtimestamp(end / 1e9, UTC).replace(tzinfo=None),
            "start_unix_nano": start,
            "end_unix_nano": end,
            "duration_ms": (end - start) / 1e6,
            "status_code": row.get("status", "unset"),
            "status_message": "",
            "attributes": json.dumps(row.get("attrs", {}), separators=(",", ":")),
            "resource": json.dumps(
                {"service.name": row.get("service", "shop")}, separators=(",", ":")
            ),
            "scope_name": "tests",
            "events": "[]",
            "links": "[]",
            "day": when.date(),
        }
        for key, value in values.items():
            columns[key].append(value)
    return pa.table(columns, schema=SPANS)
