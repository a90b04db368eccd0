"""Geometry of the console's inline SVG charts, worked out on the server.

The templates draw with SVG elements and presentation attributes only (no script, no inline
style), so the Content-Security-Policy stays as strict as on every page. Numbers here are
user units of each chart's ``viewBox``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from andon.telemetry.traces import EndpointLatency, LatencyPoint, Trace

WIDTH, HEIGHT = 640, 190
LEFT, RIGHT, TOP = 56, 12, 10
LATENCY_HEIGHT = 110
ERRORS_TOP = TOP + LATENCY_HEIGHT + 16
ERRORS_HEIGHT = 30
MAX_PANELS = 8
BAR_UNITS = 1000
"""Width of a waterfall bar's ``viewBox``."""


@dataclass(frozen=True)
class Mark:
    """One bucket of one endpoint: where its p50 and p95 points and its error bar go."""

    point: LatencyPoint
    x: float
    y50: float
    y95: float
    error_y: float
    error_height: float


@dataclass(frozen=True)
class Tick:
    """An axis label at ``at`` (x or y, in chart units)."""

    at: float
    text: str


@dataclass(frozen=True)
class Panel:
    """One endpoint's chart: p50 and p95 over time above, the share of errors below."""

    endpoint: str
    requests: int
    marks: list[Mark]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    bar_width: float

    @property
    def p50_line(self) -> str:
        """The p50 polyline's ``points``."""
        return " ".join(f"{m.x:.1f},{m.y50:.1f}" for m in self.marks)

    @property
    def p95_line(self) -> str:
        """The p95 polyline's ``points``."""
        return " ".join(f"{m.x:.1f},{m.y95:.1f}" for m in self.marks)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value`` (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(f * power for f in (1.0, 2.0, 2.5, 5.0, 10.0) if f * power >= value)


def _x_ticks(latency: EndpointLatency, x_of: Callable[[datetime], float]) -> list[Tick]:
    span = latency.until - latency.since
    fmt = "%H:%M" if span <= timedelta(days=1) else "%m-%d %H:%M"
    return [
        Tick(x_of(latency.since + span * i / 4), (latency.since + span * i / 4).strftime(fmt))
        for i in range(5)
    ]


def latency_panels(latency: EndpointLatency) -> list[Panel]:
    """A panel per endpoint, the :data:`MAX_PANELS` busiest, in :attr:`endpoints` order."""
    plot_width = WIDTH - LEFT - RIGHT
    seconds = (latency.until - latency.since).total_seconds()
    half = timedelta(seconds=latency.bucket_seconds / 2)

    def x_of(when: datetime) -> float:
        return LEFT + plot_width * (when - latency.since).total_seconds() / seconds

    bar_width = max(plot_width * latency.bucket_seconds / seconds * 0.8, 1.0)
    panels = []
    for endpoint in latency.endpoints[:MAX_PANELS]:
        points = [p for p in latency.points if p.endpoint == endpoint]
        top = nice_ceiling(max(p.p95_ms for p in points))

        def y_of(ms: float, top: float = top) -> float:
            return TOP + LATENCY_HEIGHT * (1 - ms / top)

        marks = [
            Mark(p, x_of(p.bucket + half), y_of(p.p50_ms), y_of(p.p95_ms),
                 ERRORS_TOP + ERRORS_HEIGHT * (1 - p.error_rate), ERRORS_HEIGHT * p.error_rate)
            for p in points
        ]  # fmt: skip
        y_ticks = [Tick(y_of(top * i / 2), f"{top * i / 2:g} ms") for i in range(3)]
        panels.append(
            Panel(endpoint, sum(p.requests for p in points), marks, y_ticks,
                  _x_ticks(latency, x_of), bar_width)
        )  # fmt: skip
    return panels


def waterfall_bar(trace: Trace, offset_ms: float, duration_ms: float) -> tuple[float, float]:
    """``(x, width)`` of a span's bar in a ``viewBox`` :data:`BAR_UNITS` wide spanning the
    trace; at least one unit wide so an instant span still shows."""
    total = trace.duration_ms if trace.duration_ms > 0 else 1.0
    x = min(BAR_UNITS * offset_ms / total, BAR_UNITS - 1.0)
    return x, max(min(BAR_UNITS * duration_ms / total, BAR_UNITS - x), 1.0)
