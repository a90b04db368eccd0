"""What the OTLP decoders share: the parsed request, the checks on times, the Arrow columns.

Each decoder parses an ``Export*ServiceRequest`` with the OpenTelemetry protobuf definitions
(binary, or OTLP/JSON through :mod:`andon.telemetry.otlp_json`), checks every record on its own
and rejects and counts a bad one, never the batch, so the answer can be OTLP's partial success.
Columns are gathered as Python lists and made into Arrow arrays once per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from google.protobuf.message import DecodeError

from andon.core.errors import Invalid
from andon.telemetry import otlp_json
from andon.telemetry.otlp_values import attributes_of, dumps

EARLIEST_NS = 946_684_800 * 10**9
"""2000-01-01T00:00:00Z: a record time before it is taken for a broken clock."""
AHEAD_NS = 86_400 * 10**9
"""How far past the receiver's clock a record time may be."""
INT64_MAX = 2**63 - 1
ZERO_TRACE, ZERO_SPAN = bytes(16), bytes(8)


@dataclass
class Decoded:
    """The rows of one export request, and what was rejected from it and why."""

    table: pa.Table
    rejected: int = 0
    messages: list[str] = field(default_factory=list)


class Rejections:
    """Rejected records counted by the rule they broke."""

    def __init__(self, one: str, many: str) -> None:
        self.one, self.many = one, many
        self.counts: dict[str, int] = {}

    def add(self, rule: str) -> None:
        """Count one record rejected for ``rule``."""
        self.counts[rule] = self.counts.get(rule, 0) + 1

    def decoded(self, table: pa.Table) -> Decoded:
        """The batch's rows with the counts, one message per rule ("3 spans rejected: ...")."""
        messages = [
            f"{n} {self.one if n == 1 else self.many} rejected: {rule}"
            for rule, n in self.counts.items()
        ]
        return Decoded(table, sum(self.counts.values()), messages)


def time_problem(name: str, ns: int, now_ns: int) -> str | None:
    """Why the time ``ns`` (the field ``name``) is not believable, or None when it is."""
    if ns == 0:
        return f"{name} is 0"
    if ns < EARLIEST_NS:
        return f"{name} is before 2000-01-01"
    if ns > now_ns + AHEAD_NS:
        return f"{name} is more than a day ahead of the receiver's clock"
    return None


def time_columns(ns: list[int]) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Nanoseconds as int64, as a UTC ``timestamp('us')`` and as its UTC day."""
    exact = pa.array(ns, pa.int64())
    stamp = exact.cast(pa.timestamp("ns")).cast(pa.timestamp("us"), safe=False)
    return exact, stamp, stamp.cast(pa.date32())


def text_columns(columns: dict[str, list[Any]]) -> dict[str, pa.Array]:
    """Each list of strings (or None) as an Arrow string array."""
    return {name: pa.array(values, pa.string()) for name, values in columns.items()}


def team_column(team: str, n: int) -> pa.Array:
    """The caller's team ``n`` times."""
    return pa.repeat(pa.scalar(team, pa.string()), n)


def parse_request(data: bytes, as_json: bool, request_type: Any, signal: str) -> Any:
    """The ``Export*ServiceRequest`` in a body, or :class:`Invalid` naming the signal."""
    if as_json:
        return otlp_json.parse(data, request_type, signal)
    try:
        return request_type.FromString(data)
    except DecodeError:
        name = request_type.DESCRIPTOR.name
        raise Invalid(
            f"the {signal} body is not a valid OTLP protobuf {name}", field="body"
        ) from None


def resource_of(resource: Any) -> tuple[str, str]:
    """A resource's attributes as JSON and its ``service.name`` ("" if none or not a string)."""
    attributes = attributes_of(resource.attributes)
    service = attributes.get("service.name")
    return dumps(attributes), service if isinstance(service, str) else ""
