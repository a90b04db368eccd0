"""OTLP codec benchmark: spans per second decoded into andon's rows, on one core.

    .venv/bin/python benchmarks/otlp.py [--spans 512] [--rounds 50]

One batch of ``--spans`` spans made by the OpenTelemetry SDK (a server span with six
attributes and three client children with four, one event each third span) and encoded by the
SDK's own OTLP encoder. Timed, best and median of ``--rounds``: protobuf's own parse of the
request (the floor: no rows), :func:`andon.telemetry.otlp.decode_traces` on the protobuf body,
on the same body gzip-compressed (with :func:`decode_body`), on the OTLP/JSON body, and
:func:`encode_traces` of the decoded rows.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from google.protobuf import json_format  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind  # noqa: E402

from andon.telemetry import otlp  # noqa: E402


def batch(n: int) -> Any:
    """An SDK-made ``ExportTraceServiceRequest`` of ``n`` spans (a multiple of 4)."""
    exporter = InMemorySpanExporter()
    resource = Resource.create({"service.name": "checkout", "deployment.environment": "prod"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench", "1.0")
    for i in range(n // 4):
        with tracer.start_as_current_span("GET /orders/{id}", kind=SpanKind.SERVER) as span:
            span.set_attributes(
                {
                    "http.request.method": "GET",
                    "http.route": "/orders/{id}",
                    "http.response.status_code": 200,
                    "user.id": f"u{i}",
                    "server.port": 8080,
                    "ratio": 0.25,
                }
            )
            for j in range(3):
                with tracer.start_as_current_span("db.query", kind=SpanKind.CLIENT) as child:
                    child.set_attributes(
                        {
                            "db.system": "postgresql",
                            "db.query.text": "SELECT * FROM orders WHERE id = $1",
                            "db.response.returned_rows": 1,
                            "cached": False,
                        }
                    )
                    if j == 0:
                        child.add_event("retry", {"attempt": 1})
    return encode_spans(exporter.get_finished_spans())


def otlp_json(request: Any) -> bytes:
    """``request`` as OTLP/JSON (hex ids, integer enums)."""
    doc = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in doc["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(doc).encode()


def timed(work: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Best and median seconds of ``rounds`` runs of ``work``."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> None:
    """Print spans per second for each way in."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    request = batch(args.spans)
    data = request.SerializeToString()
    zipped = gzip.compress(data)
    as_json = otlp_json(request)
    now = time.time_ns()
    table = otlp.decode_traces(data, False, "bench", now).table
    assert table.num_rows == args.spans
    cases: dict[str, Callable[[], object]] = {
        "protobuf parse only (floor)": lambda: ExportTraceServiceRequest.FromString(data),
        "decode_traces, protobuf": lambda: otlp.decode_traces(data, False, "bench", now),
        "decode_body + decode_traces, gzip": lambda: otlp.decode_traces(
            otlp.decode_body(zipped, otlp.PROTOBUF, "gzip", 64 << 20), False, "bench", now
        ),
        "decode_traces, OTLP/JSON": lambda: otlp.decode_traces(as_json, True, "bench", now),
        "encode_traces": lambda: otlp.encode_traces(table),
    }
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(
        f"{args.spans} spans: protobuf {len(data):,} B, gzip {len(zipped):,} B, JSON {len(as_json):,} B"
    )
    for name, work in cases.items():
        rounds = args.rounds if "JSON" not in name else max(3, args.rounds // 10)
        best, median = timed(work, rounds)
        print(
            f"{name:38} best {best * 1e3:7.2f} ms  median {median * 1e3:7.2f} ms"
            f"  {args.spans / median:>11,.0f} spans/s"
        )


if __name__ == "__main__":
    main()
