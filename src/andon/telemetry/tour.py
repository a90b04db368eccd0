"""The demo's OTLP traffic (``andon demo-otlp``): what an instrumented service sends, as
OTLP/JSON over HTTP to a running ``andon telemetry serve``. Plain ``urllib``, as an
application without the OpenTelemetry SDK would (``curl`` works the same way)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from andon.core.errors import Invalid, Unavailable


def _value(value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _span(trace: str, span: int, parent: int | None, name: str, ms: float, start: int,
          error: bool, attributes: dict[str, object]) -> dict[str, Any]:  # fmt: skip
    return {
        "traceId": trace,
        "spanId": f"{span:016x}",
        **({"parentSpanId": f"{parent:016x}"} if parent else {}),
        "name": name,
        "kind": 2 if parent is None else 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + int(ms * 1e6)),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attributes.items()],
        "status": {"code": 2, "message": "card declined upstream"} if error else {"code": 1},
    }


def document(traces: int = 20, now: int | None = None) -> dict[str, Any]:
    """An OTLP/JSON traces request: ``traces`` checkout traces of a server span and two
    client spans; every fifth trace fails, and each carries a customer's e-mail address and
    card number in its attributes, as careless instrumentation does."""
    start = now or time.time_ns()
    spans = []
    for t in range(traces):
        trace = os.urandom(16).hex()
        error = t % 5 == 0
        begin = start + t * 50_000_000
        spans.append(_span(trace, 3 * t + 1, None, "POST /checkout", 40.0 + t, begin, error, {
            "http.route": "/checkout", "http.response.status_code": 502 if error else 200,
            "enduser.email": f"customer{t}@example.org",
            "payment.note": "card 4111 1111 1111 1111 on file",
        }))  # fmt: skip
        spans.append(_span(trace, 3 * t + 2, 3 * t + 1, "SELECT orders", 3.0, begin + 1_000_000,
                           False, {"db.system": "postgresql"}))  # fmt: skip
        spans.append(_span(trace, 3 * t + 3, 3 * t + 1, "POST /charge", 30.0, begin + 5_000_000,
                           error, {"server.address": "payments.internal"}))  # fmt: skip
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]
                },
                "scopeSpans": [{"scope": {"name": "checkout"}, "spans": spans}],
            }
        ]
    }


def send(url: str, token: str, team: str, say: Callable[[str], None]) -> None:
    """POST :func:`document` to ``url``/v1/traces and say what the receiver answered."""
    body = json.dumps(document()).encode()
    request = urllib.request.Request(  # noqa: S310 (the demo's loopback receiver)
        url.rstrip("/") + "/v1/traces",
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "x-andon-team": team,
        },
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                partial = json.loads(answer.read() or b"{}").get("partialSuccess", {})
                rejected = int(partial.get("rejectedSpans", 0))
                say(f"POST /v1/traces: {answer.status}, 60 spans of 20 traces "
                    f"({len(body):,} bytes of OTLP/JSON), {rejected} rejected")  # fmt: skip
                return
        except urllib.error.HTTPError as exc:
            text = exc.read()[:300].decode(errors="replace")
            raise Invalid(f"the receiver answered {exc.code}: {text}", field="receiver") from None
        except OSError as exc:
            if time.monotonic() > deadline:
                raise Unavailable(f"no receiver at {url}: {exc}") from None
            time.sleep(0.2)
