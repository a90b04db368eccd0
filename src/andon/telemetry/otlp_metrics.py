"""OTLP metrics to rows of :data:`~andon.telemetry.schema.METRICS`, one per data point.

Gauges and sums fill ``value`` (an integer point as a double); histograms ``count``, ``sum``,
``min``, ``max``, ``bounds`` and ``bucket_counts``; exponential histograms the same without
bounds and buckets (their scale and buckets are not kept); summaries ``count``, ``sum`` and
``quantiles`` (``[{quantile, value}]``). Sums and histograms carry their temporality, sums
whether they are monotonic. A metric without data has no rows; exemplars are not kept.

A point is rejected (and counted) when its time is 0, before 2000-01-01 or more than a day
ahead of the receiver's clock, its start time is after it, a count does not fit in int64, or a
histogram's bucket counts are not one more than its bounds.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from andon.telemetry.otlp_rows import (
    INT64_MAX,
    Decoded,
    Rejections,
    parse_request,
    resource_of,
    team_column,
    text_columns,
    time_columns,
    time_problem,
)
from andon.telemetry.otlp_values import attributes_json, dumps, json_double
from andon.telemetry.schema import METRICS

TEMPORALITIES = ("", "delta", "cumulative")
"""``AggregationTemporality`` names by their enum number (unspecified is "")."""
_TEXT = (
    *("service_name", "name", "description", "unit", "type", "temporality", "quantiles"),
    *("attributes", "resource", "scope_name"),
)
_NUMBERS = ("value", "count", "sum", "min", "max", "bounds", "bucket_counts")
_COUNTED = ("histogram", "exponential_histogram", "summary")


def _problem(point: Any, kind: str, now_ns: int) -> str | None:
    at = point.time_unix_nano
    problem = time_problem("time_unix_nano", at, now_ns)
    if problem:
        return problem
    if point.start_time_unix_nano > at:
        return "start_time_unix_nano is after time_unix_nano"
    if kind in _COUNTED and point.count > INT64_MAX:
        return "count does not fit in int64"
    if kind == "histogram" and point.bucket_counts:
        if len(point.bucket_counts) != len(point.explicit_bounds) + 1:
            return "bucket_counts is not one longer than explicit_bounds"
        if max(point.bucket_counts) > INT64_MAX:
            return "a bucket count does not fit in int64"
    return None


def _optional(point: Any, name: str) -> float | None:
    return getattr(point, name) if point.HasField(name) else None


def _numbers(point: Any, kind: str) -> tuple[Any, ...]:
    """The point's ``value, count, sum, min, max, bounds, bucket_counts``."""
    if kind == "gauge" or kind == "sum":
        which = point.WhichOneof("value")
        value = point.as_double if which == "as_double" else float(point.as_int) if which else None
        return value, None, None, None, None, None, None
    if kind == "summary":
        return None, point.count, point.sum, None, None, None, None
    sum_, low, high = _optional(point, "sum"), _optional(point, "min"), _optional(point, "max")
    if kind == "histogram":
        bounds, buckets = list(point.explicit_bounds), list(point.bucket_counts)
        return None, point.count, sum_, low, high, bounds, buckets
    return None, point.count, sum_, low, high, None, None


def _quantiles(point: Any) -> str:
    return dumps(
        [{"quantile": q.quantile, "value": json_double(q.value)} for q in point.quantile_values]
    )


def decode_metrics(data: bytes, as_json: bool, team: str, now_ns: int) -> Decoded:
    """The data points of an ``ExportMetricsServiceRequest`` body (protobuf, or OTLP/JSON when
    ``as_json``) as rows of :data:`METRICS` for ``team``; ``now_ns`` is the receiver's clock."""
    request = parse_request(data, as_json, ExportMetricsServiceRequest, "metrics")
    rejections = Rejections("data point", "data points")
    text: dict[str, list[Any]] = {name: [] for name in _TEXT}
    numbers: dict[str, list[Any]] = {name: [] for name in _NUMBERS}
    number_columns = [numbers[name] for name in _NUMBERS]
    times: list[int] = []
    starts: list[int] = []
    monotonic: list[bool | None] = []
    for resource_metrics in request.resource_metrics:
        resource, service = resource_of(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                data_of_kind = getattr(metric, kind)
                temporality = ""
                if kind != "gauge" and kind != "summary":
                    code = data_of_kind.aggregation_temporality
                    temporality = TEMPORALITIES[code] if 0 <= code < 3 else ""
                is_monotonic = data_of_kind.is_monotonic if kind == "sum" else None
                for point in data_of_kind.data_points:
                    problem = _problem(point, kind, now_ns)
                    if problem:
                        rejections.add(problem)
                        continue
                    for column, value in zip(number_columns, _numbers(point, kind), strict=True):
                        column.append(value)
                    times.append(point.time_unix_nano)
                    starts.append(point.start_time_unix_nano)
                    monotonic.append(is_monotonic)
                    text["service_name"].append(service)
                    text["name"].append(metric.name)
                    text["description"].append(metric.description)
                    text["unit"].append(metric.unit)
                    text["type"].append(kind)
                    text["temporality"].append(temporality)
                    text["quantiles"].append(_quantiles(point) if kind == "summary" else None)
                    text["attributes"].append(attributes_json(point.attributes))
                    text["resource"].append(resource)
                    text["scope_name"].append(scope)
    arrays = text_columns(text)
    arrays["time_unix_nano"], arrays["time"], arrays["day"] = time_columns(times)
    arrays["start_unix_nano"] = pa.array(starts, pa.int64())
    arrays["monotonic"] = pa.array(monotonic, pa.bool_())
    arrays["count"] = pa.array(numbers.pop("count"), pa.int64())
    arrays["bounds"] = pa.array(numbers.pop("bounds"), pa.list_(pa.float64()))
    arrays["bucket_counts"] = pa.array(numbers.pop("bucket_counts"), pa.list_(pa.int64()))
    arrays.update((name, pa.array(column, pa.float64())) for name, column in numbers.items())
    arrays["team"] = team_column(team, len(times))
    table = pa.Table.from_arrays([arrays[name] for name in METRICS.names], schema=METRICS)
    return rejections.decoded(table)
