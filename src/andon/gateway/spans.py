"""A span for every gateway request, spooled by each worker without blocking the request.

The request path only fills a small object (:class:`RequestSpan`, reached through a context
variable so every route can annotate the request it serves); once a second the worker writes
the finished spans off the event loop as one OTLP/JSON ``ExportTraceServiceRequest`` file under
``HOME/telemetry/spool`` (the telemetry intake folds these files; no worker writes a DuckDB
file), and POSTs the same document to ``ANDON_OTLP_ENDPOINT/v1/traces`` when one is set. An
incoming W3C ``traceparent`` makes the span a child of the caller's. At most ``MAX_PENDING``
spans wait; past that the oldest are dropped and counted, never the request.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
import urllib.request
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("andon.gateway")
MAX_PENDING = 10_000
SERVER = 2  # SpanKind.SPAN_KIND_SERVER
current: ContextVar[RequestSpan | None] = ContextVar("andon_gateway_span", default=None)


@dataclass(slots=True)
class RequestSpan:
    """One request: when, where from, and what andon decided about it."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int = 0
    status: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)

    def as_otlp(self) -> dict[str, Any]:
        """The span in OTLP/JSON."""
        doc: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "name": self.name,
            "kind": SERVER,
            "startTimeUnixNano": str(self.start_ns),
            "endTimeUnixNano": str(self.end_ns),
            "attributes": [_attribute(k, v) for k, v in sorted(self.attributes.items())],
            # Only 5xx is the gateway's error; a 4xx is the caller's (OTel HTTP conventions).
            "status": {"code": 2} if self.status >= 500 else {},
        }
        if self.parent_span_id:
            doc["parentSpanId"] = self.parent_span_id
        return doc


def _attribute(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        typed: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        typed = {"intValue": str(value)}
    elif isinstance(value, float):
        typed = {"doubleValue": value}
    else:
        typed = {"stringValue": str(value)}
    return {"key": key, "value": typed}


def begin(method: str, path: str, traceparent: str | None) -> RequestSpan:
    """A span for a request that starts now, continuing the caller's trace if it sent one."""
    trace_id, parent = "", ""
    if traceparent:
        parts = traceparent.strip().split("-")
        if (
            len(parts) == 4
            and len(parts[1]) == 32
            and len(parts[2]) == 16
            and all(c in "0123456789abcdef" for c in parts[1] + parts[2])
            and parts[1] != "0" * 32
        ):
            trace_id, parent = parts[1], parts[2]
    span = RequestSpan(
        name=f"{method} {path}",
        trace_id=trace_id or secrets.token_hex(16),
        span_id=secrets.token_hex(8),
        parent_span_id=parent,
        start_ns=time.time_ns(),
        attributes={"http.request.method": method, "url.path": path},
    )
    current.set(span)
    return span


def annotate(**attributes: Any) -> None:
    """Add attributes to the span of the request being served (if any)."""
    span = current.get()
    if span is not None:
        span.attributes.update({k: v for k, v in attributes.items() if v is not None})


class Spool:
    """One worker's finished spans, flushed once a second."""

    def __init__(self, directory: Path, otlp_endpoint: str | None) -> None:
        self.directory, self.otlp_endpoint = directory, otlp_endpoint
        self.pending: list[RequestSpan] = []
        self.dropped = 0
        self.exported = 0
        self._files = 0

    def finish(self, span: RequestSpan, status: int) -> None:
        """End ``span`` now with the response's status."""
        span.end_ns = time.time_ns()
        span.status = status
        span.attributes["http.response.status_code"] = status
        self.pending.append(span)
        if len(self.pending) > MAX_PENDING:
            excess = len(self.pending) - MAX_PENDING
            del self.pending[:excess]
            self.dropped += excess

    def take(self) -> list[RequestSpan]:
        """The spans to flush (the list is swapped, so the loop never waits on a write)."""
        batch, self.pending = self.pending, []
        return batch

    def write(self, batch: list[RequestSpan]) -> Path | None:
        """Write ``batch`` as one OTLP/JSON file and send it on when a collector is set
        (runs off the event loop)."""
        if not batch:
            return None
        document = {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [
                            _attribute("service.name", "andon-gateway"),
                            _attribute("service.instance.id", str(os.getpid())),
                        ]
                    },
                    "scopeSpans": [
                        {
                            "scope": {"name": "andon.gateway"},
                            "spans": [span.as_otlp() for span in batch],
                        }
                    ],
                }
            ]
        }
        data = json.dumps(document, separators=(",", ":")).encode()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files += 1
        name = f"gateway-{os.getpid()}-{time.time_ns()}-{self._files}.json"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(data)
        path = self.directory / name
        tmp.replace(path)
        if self.otlp_endpoint:
            request = urllib.request.Request(  # noqa: S310 (an operator-configured collector)
                self.otlp_endpoint.rstrip("/") + "/v1/traces",
                data=data,
                headers={"content-type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=5):  # noqa: S310
                    self.exported += len(batch)
            except OSError as exc:
                log.warning("the OTLP collector did not take %d spans: %s", len(batch), exc)
        return path


def prune(directory: Path, max_bytes: int = 256 * 1024 * 1024) -> int:
    """Delete the oldest spool files past ``max_bytes`` (nobody folding them must not fill
    the disk); returns how many went."""
    if not directory.is_dir():
        return 0
    files = sorted((p for p in directory.glob("gateway-*.json")), key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in files)
    removed = 0
    for path in files:
        if total <= max_bytes:
            break
        total -= path.stat().st_size
        path.unlink(missing_ok=True)
        removed += 1
    return removed
