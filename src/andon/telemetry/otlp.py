"""The OTLP codec of the telemetry intake: bodies in, andon's rows out, OTLP answers back.

An OTLP/HTTP body is binary protobuf (``application/x-protobuf``) or OTLP/JSON
(``application/json``), optionally ``Content-Encoding: gzip`` (or ``deflate``).
:func:`decode_body` undoes the encoding under a size limit, inflating in bounded steps so a
zip bomb is refused after ``limit`` bytes, never inflated first; :data:`DECODERS` turn the
``Export*ServiceRequest`` into Arrow rows of :mod:`andon.telemetry.schema`, rejecting bad
records one by one; :func:`success_body` is the ``Export*ServiceResponse`` with OTLP's partial
success when something was rejected. :func:`encode_traces` writes kept spans back as OTLP, for
export to another collector.

Refusals are :mod:`andon.core.errors`: :class:`UnsupportedMediaType` (415) for another content
type or encoding, :class:`TooLarge` (413) for a body past the limit, :class:`Invalid` (OTLP
answers it 400) for a body that does not decode.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from andon.core.errors import Invalid, TooLarge, UnsupportedMediaType
from andon.telemetry.otlp_logs import decode_logs
from andon.telemetry.otlp_metrics import decode_metrics
from andon.telemetry.otlp_rows import Decoded
from andon.telemetry.otlp_traces import decode_traces, encode_traces
from andon.telemetry.otlp_values import dumps

__all__ = [
    "DECODERS",
    "JSON",
    "PROTOBUF",
    "Decoded",
    "TooLarge",
    "UnsupportedMediaType",
    "check_content_type",
    "decode_body",
    "decode_logs",
    "decode_metrics",
    "decode_traces",
    "encode_traces",
    "is_json",
    "media_type",
    "success_body",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
DECODERS: dict[str, Callable[[bytes, bool, str, int], Decoded]] = {
    "spans": decode_traces,
    "metrics": decode_metrics,
    "logs": decode_logs,
}
"""Each signal's decoder, ``(data, as_json, team, now_ns) -> Decoded``."""

_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}  # zlib's window bits: gzip, zlib wrappers
_STEP = 1 << 20  # inflate at most this much per step
_IN_STEP = 1 << 16  # and feed zlib this much input at a time
_RESPONSES: dict[str, tuple[Any, str]] = {
    "spans": (ExportTraceServiceResponse, "rejected_spans"),
    "metrics": (ExportMetricsServiceResponse, "rejected_data_points"),
    "logs": (ExportLogsServiceResponse, "rejected_log_records"),
}


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` header, lower case, without its parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    """Whether the body (and so the answer) is OTLP/JSON rather than protobuf."""
    return media_type(content_type) == JSON


def check_content_type(content_type: str | None) -> None:
    """Refuse a ``Content-Type`` other than OTLP's two with :class:`UnsupportedMediaType`."""
    kind = media_type(content_type)
    if kind not in (PROTOBUF, JSON):
        raise UnsupportedMediaType(
            f"OTLP bodies are {PROTOBUF} or {JSON}, not {kind or 'unnamed'}",
            field="content_type",
        )


def decode_body(
    body: bytes, content_type: str | None, content_encoding: str | None, limit: int
) -> bytes:
    """The request body with its ``Content-Encoding`` undone, at most ``limit`` bytes of it.

    Refuses another content type or encoding (:class:`UnsupportedMediaType`), a body that is
    over ``limit`` bytes once decoded (:class:`TooLarge`, found after inflating at most
    ``limit`` bytes and one step more), and a broken or truncated gzip or deflate stream
    (:class:`Invalid`).
    """
    check_content_type(content_type)
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise TooLarge(f"the body is {len(body)} bytes; at most {limit}", field="body")
        return body
    wbits = _WBITS.get(encoding)
    if wbits is None:
        raise UnsupportedMediaType(
            f"the content encoding {encoding!r} is not one of gzip, deflate, identity",
            field="content_encoding",
        )
    try:
        return _inflate(body, wbits, limit)
    except zlib.error as exc:
        raise Invalid(f"the body is not valid {encoding}: {exc}", field="body") from None


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    data = memoryview(body)
    while True:  # once per gzip member (a deflate body is one stream)
        inflater = zlib.decompressobj(wbits)
        offset = 0
        while not inflater.eof and offset < len(data):
            pending: bytes | memoryview = data[offset : offset + _IN_STEP]
            offset += len(pending)
            while True:
                chunk = inflater.decompress(pending, _STEP)
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        f"the body is over {limit} bytes once decompressed", field="body"
                    )
                chunks.append(chunk)
                pending = inflater.unconsumed_tail
                # A short chunk with no input left means nothing is pending inside zlib.
                if inflater.eof or (not pending and len(chunk) < _STEP):
                    break
        if not inflater.eof:
            raise zlib.error("the stream ends before its end marker")
        rest = inflater.unused_data + data[offset:]
        if wbits == _WBITS["gzip"] and rest.strip(b"\0"):  # another gzip member follows
            data = memoryview(rest)
            continue
        if rest and wbits != _WBITS["gzip"]:
            raise zlib.error("data after the end of the stream")
        return b"".join(chunks)


def success_body(rejected: int, message: str, as_json: bool, signal: str) -> bytes:
    """The ``Export*ServiceResponse`` for ``signal`` (spans, metrics, logs), in protobuf or
    OTLP/JSON as the request was; ``partial_success`` is set only when ``rejected`` records
    or a ``message`` are to be told, as OTLP requires."""
    response_type, rejected_field = _RESPONSES["spans" if signal == "traces" else signal]
    response = response_type()
    if rejected or message:
        setattr(response.partial_success, rejected_field, rejected)
        response.partial_success.error_message = message
        response.partial_success.SetInParent()
    if as_json:
        return dumps(json_format.MessageToDict(response)).encode()
    return bytes(response.SerializeToString())
