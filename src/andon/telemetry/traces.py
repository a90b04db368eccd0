"""Traces as people look at them: a search, one trace as a tree, and latency per endpoint.

Every function reads through :func:`andon.telemetry.service.query`, so it sees exactly the
teams whose ``telemetry.read`` the principal holds, over both tiers. User input never becomes
SQL text: it is checked here (:class:`Invalid` naming the field) and bound as ``$name``
parameters. The aggregates run in DuckDB.

A **trace** is every stored span with its trace id (in any readable team): it starts at its
first span's start and lasts until its last span ends; its status is ``error`` when any span
is an error, else ``ok`` when any span is ok, else ``unset``. Time ranges are half-open,
``since <= start < until``, in UTC.

An endpoint's latency is that of its **entry spans**: spans naming the endpoint whose parent
does not name the same endpoint (the gateway's request span, a service's server span), so a
trace through two endpoints counts for each, and an endpoint's inner spans are not requests.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.telemetry import service

STATUSES = ("ok", "error", "unset")
"""A span's (and a trace's) status codes."""
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 100_000
MAX_SPANS = 2_000
"""The most spans :func:`trace` returns (the trace says when it holds more)."""
MAX_MS = 1e9
BUCKETS = (60, 300, 900, 3_600, 21_600, 86_400)
"""Bucket widths, in seconds, that :func:`bucket_seconds` chooses from."""
MAX_BUCKETS = 120
MAX_RANGE = timedelta(days=400)
_TRACE_ID = re.compile(r"[0-9a-f]{32}")

_ROOT = "parent_span_id = ''"
_SUMMARY = (
    "SELECT trace_id, list_sort(list(DISTINCT team)) AS teams, "
    f"coalesce(arg_min(name, start_unix_nano) FILTER (WHERE {_ROOT}), "
    "arg_min(name, start_unix_nano)) AS name, "
    f"coalesce(arg_min(service_name, start_unix_nano) FILTER (WHERE {_ROOT}), "
    "arg_min(service_name, start_unix_nano)) AS service, "
    "list_sort(list(DISTINCT endpoint) FILTER (WHERE endpoint IS NOT NULL)) AS endpoints, "
    "min(start_time) AS start_time, "
    "(max(end_unix_nano) - min(start_unix_nano)) / 1e6 AS duration_ms, "
    "count(*) AS spans, count(*) FILTER (WHERE status_code = 'error') AS errors, "
    "CASE WHEN bool_or(status_code = 'error') THEN 'error' "
    "WHEN bool_or(status_code = 'ok') THEN 'ok' ELSE 'unset' END AS status "
    "FROM spans GROUP BY trace_id"
)
_ENTRY_SPANS = (
    "SELECT s.endpoint, s.start_time, s.duration_ms, s.status_code FROM spans s "
    "LEFT JOIN spans p ON p.team = s.team AND p.trace_id = s.trace_id "
    "AND p.span_id = s.parent_span_id AND s.parent_span_id <> '' "
    "WHERE s.endpoint IS NOT NULL AND p.endpoint IS DISTINCT FROM s.endpoint"
)


@dataclass(frozen=True)
class TraceSummary:
    """One trace as a search lists it (``name`` and ``service`` are its root span's)."""

    trace_id: str
    teams: tuple[str, ...]
    name: str
    service: str
    endpoints: tuple[str, ...]
    start: datetime
    duration_ms: float
    spans: int
    errors: int
    status: str


@dataclass(frozen=True)
class TracePage:
    """A page of :func:`search_traces`, newest first; ``more`` when later pages hold more."""

    traces: list[TraceSummary]
    offset: int
    limit: int
    more: bool


@dataclass(frozen=True)
class SpanView:
    """One span of a trace, placed in the tree (``depth`` 0 for a root or an orphan)."""

    span_id: str
    parent_span_id: str
    team: str
    name: str
    kind: str
    service: str
    endpoint: str | None
    status: str
    status_message: str
    start: datetime
    offset_ms: float
    """Start, after the trace's start."""
    duration_ms: float
    depth: int
    orphan: bool
    """Its parent is not among the stored spans (not sampled, or in another team)."""
    attributes: dict[str, Any]
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Trace:
    """One trace: its spans in tree order (children under their parent, siblings by start)."""

    trace_id: str
    start: datetime
    duration_ms: float
    spans: list[SpanView]
    truncated: bool
    """More than :data:`MAX_SPANS` spans are stored; the first ones by start are shown."""

    @property
    def status(self) -> str:
        """``error`` if any span is, else ``ok`` if any span is, else ``unset``."""
        codes = {s.status for s in self.spans}
        return "error" if "error" in codes else "ok" if "ok" in codes else "unset"


@dataclass(frozen=True)
class LatencyPoint:
    """One endpoint in one time bucket: requests, latency quantiles, share of errors."""

    endpoint: str
    bucket: datetime
    requests: int
    p50_ms: float
    p95_ms: float
    error_rate: float


@dataclass(frozen=True)
class EndpointLatency:
    """:func:`endpoint_latency`'s buckets; ``endpoints`` busiest first."""

    since: datetime
    until: datetime
    bucket_seconds: int
    endpoints: tuple[str, ...]
    points: list[LatencyPoint]


def utc(value: datetime) -> datetime:
    """``value`` as a naive UTC datetime, as the ``start_time`` columns hold it (a naive
    ``value`` is taken as UTC already)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def parse_time(text: str | None, field: str) -> datetime | None:
    """ISO 8601 text (``2026-11-23T07:30``, with or without an offset; none means UTC) as a
    naive UTC datetime; ``None`` for nothing; :class:`Invalid` naming ``field`` otherwise."""
    if text is None or not text.strip():
        return None
    try:
        return utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise Invalid("not a time (use ISO 8601: 2026-11-23T07:30)", field=field) from None


def parse_ms(text: str | None, field: str = "min_ms") -> float | None:
    """A number of milliseconds from text; ``None`` for nothing."""
    if text is None or not text.strip():
        return None
    try:
        return float(text.strip())
    except ValueError:
        raise Invalid("not a number of milliseconds", field=field) from None


def _endpoint(endpoint: str | None) -> str | None:
    if endpoint is None or not endpoint.strip():
        return None
    endpoint = endpoint.strip()
    if len(endpoint) > 256 or any(ord(c) < 32 for c in endpoint):
        raise Invalid("not an endpoint name", field="endpoint")
    return endpoint


def _range(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    since, until = (utc(since) if since else None), (utc(until) if until else None)
    if since and until and since >= until:
        raise Invalid("must be after since", field="until")
    return since, until


def search_traces(
    ctx: Context,
    *,
    endpoint: str | None = None,
    status: str | None = None,
    min_ms: float | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    teams: Sequence[str] | None = None,
) -> TracePage:
    """The traces the principal may read that passed through ``endpoint``, with ``status``,
    lasting at least ``min_ms``, starting in ``[since, until)``: newest first, ``limit`` from
    ``offset``."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if (endpoint := _endpoint(endpoint)) is not None:
        where.append("list_contains(endpoints, $endpoint)")
        params["endpoint"] = endpoint
    if status:
        if status not in STATUSES:
            raise Invalid(f"must be one of {', '.join(STATUSES)}", field="status")
        where.append("status = $status")
        params["status"] = status
    if min_ms is not None:
        if not (math.isfinite(min_ms) and 0 <= min_ms <= MAX_MS):
            raise Invalid(f"must be between 0 and {MAX_MS:.0f} ms", field="min_ms")
        where.append("duration_ms >= $min_ms")
        params["min_ms"] = float(min_ms)
    since, until = _range(since, until)
    if since is not None:
        where.append("start_time >= $since")
        params["since"] = since
    if until is not None:
        where.append("start_time < $until")
        params["until"] = until
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"must be between 1 and {MAX_LIMIT}", field="limit")
    if not 0 <= offset <= MAX_OFFSET:
        raise Invalid(f"must be between 0 and {MAX_OFFSET}", field="offset")
    params |= {"limit": limit + 1, "offset": offset}  # one more row says whether more follow
    sql = (
        f"SELECT * FROM ({_SUMMARY}) t{' WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY start_time DESC, trace_id LIMIT $limit OFFSET $offset"
    )
    rows = service.query(ctx, sql, teams, params=params).table.to_pylist()
    found = [
        TraceSummary(
            r["trace_id"], tuple(r["teams"]), r["name"], r["service"], tuple(r["endpoints"]),
            r["start_time"], float(r["duration_ms"]), int(r["spans"]), int(r["errors"]),
            r["status"],
        )
        for r in rows[:limit]
    ]  # fmt: skip
    return TracePage(found, offset, limit, len(rows) > limit)


def trace_id_of(text: str) -> str:
    """``text`` as a trace id (32 hex digits, any case); :class:`Invalid` otherwise."""
    trace_id = text.strip().lower()
    if not _TRACE_ID.fullmatch(trace_id):
        raise Invalid("a trace id is 32 hexadecimal digits", field="trace_id")
    return trace_id


def trace(ctx: Context, trace_id: str, teams: Sequence[str] | None = None) -> Trace:
    """The spans of one trace the principal may read, in tree order; :class:`NotFound` when
    none is stored in a readable team."""
    trace_id = trace_id_of(trace_id)
    result = service.query(
        ctx,
        "SELECT team, span_id, parent_span_id, name, kind, service_name, endpoint, start_time, "
        "start_unix_nano, end_unix_nano, duration_ms, status_code, status_message, attributes, "
        "events FROM spans WHERE trace_id = $trace_id ORDER BY start_unix_nano, span_id",
        teams,
        params={"trace_id": trace_id},
        max_rows=MAX_SPANS,
    )
    rows = result.table.to_pylist()
    if not rows:
        raise NotFound(f"no trace {trace_id} in the telemetry you may read", field="trace_id")
    first = rows[0]["start_unix_nano"]
    last = max(r["end_unix_nano"] for r in rows)
    ids = {r["span_id"] for r in rows}
    spans = [
        SpanView(
            r["span_id"], r["parent_span_id"], r["team"], r["name"], r["kind"],
            r["service_name"], r["endpoint"], r["status_code"], r["status_message"],
            r["start_time"], (r["start_unix_nano"] - first) / 1e6, float(r["duration_ms"]),
            depth, bool(r["parent_span_id"]) and r["parent_span_id"] not in ids,
            _json(r["attributes"], {}), _json(r["events"], []),
        )
        for r, depth in tree_order(rows)
    ]  # fmt: skip
    return Trace(trace_id, rows[0]["start_time"], (last - first) / 1e6, spans, result.truncated)


def _json(text: str, empty: Any) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return empty
    return value if isinstance(value, type(empty)) else empty


def tree_order(rows: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """``rows`` (spans ordered by start) depth first: each span followed by its children in
    the order given, with its depth. A span whose parent is missing is a root; spans caught
    in a cycle of parents start a tree where the first of them stands."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_id.setdefault(row["span_id"], row)
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for row in rows:
        parent = row["parent_span_id"]
        if parent and parent in by_id and parent != row["span_id"]:
            children.setdefault(parent, []).append(row)
        else:
            roots.append(row)
    ordered: list[tuple[dict[str, Any], int]] = []
    seen: set[int] = set()
    for start in [*roots, *rows]:
        stack = [(start, 0)]
        while stack:
            row, depth = stack.pop()
            if id(row) in seen:
                continue
            seen.add(id(row))
            ordered.append((row, depth))
            kids = children.get(row["span_id"], []) if by_id[row["span_id"]] is row else []
            stack.extend((kid, depth + 1) for kid in reversed(kids))
    return ordered


def bucket_seconds(since: datetime, until: datetime) -> int:
    """The narrowest of :data:`BUCKETS` that cuts ``[since, until)`` into at most
    :data:`MAX_BUCKETS` buckets (a day when none does)."""
    seconds = (until - since).total_seconds()
    return next((b for b in BUCKETS if seconds / b <= MAX_BUCKETS), BUCKETS[-1])


def endpoint_latency(
    ctx: Context,
    *,
    since: datetime,
    until: datetime,
    endpoint: str | None = None,
    teams: Sequence[str] | None = None,
) -> EndpointLatency:
    """Per endpoint (or just ``endpoint``) and time bucket of ``[since, until)`` (width from
    :func:`bucket_seconds`): entry-span count, p50 and p95 latency, and the share of errors."""
    low, high = utc(since), utc(until)
    _range(low, high)
    if high - low > MAX_RANGE:
        raise Invalid(f"the range is at most {MAX_RANGE.days} days", field="since")
    bucket = bucket_seconds(low, high)
    params: dict[str, Any] = {"since": low, "until": high, "bucket": bucket}
    only = ""
    if (endpoint := _endpoint(endpoint)) is not None:
        only, params["endpoint"] = " AND endpoint = $endpoint", endpoint
    rows = service.query(
        ctx,
        "SELECT endpoint, time_bucket(to_seconds($bucket), start_time) AS bucket, "
        "count(*) AS requests, quantile_cont(duration_ms, 0.5) AS p50_ms, "
        "quantile_cont(duration_ms, 0.95) AS p95_ms, "
        "avg(CASE WHEN status_code = 'error' THEN 1.0 ELSE 0.0 END) AS error_rate "
        f"FROM ({_ENTRY_SPANS}) e WHERE start_time >= $since AND start_time < $until{only} "
        "GROUP BY ALL ORDER BY endpoint, bucket",
        teams,
        params=params,
    ).table.to_pylist()
    points = [
        LatencyPoint(r["endpoint"], r["bucket"], int(r["requests"]), float(r["p50_ms"]),
                     float(r["p95_ms"]), float(r["error_rate"]))
        for r in rows
    ]  # fmt: skip
    requests: dict[str, int] = {}
    for p in points:
        requests[p.endpoint] = requests.get(p.endpoint, 0) + p.requests
    busiest = tuple(sorted(requests, key=lambda e: (-requests[e], e)))
    return EndpointLatency(low, high, bucket, busiest, points)
