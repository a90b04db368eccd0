"""The OTLP/HTTP receiver: ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``.

As OTLP/HTTP specifies: bodies are binary protobuf (``application/x-protobuf``) or OTLP/JSON
(``application/json``), optionally ``Content-Encoding: gzip``; a success is ``200`` with an
``Export*ServiceResponse`` in the request's encoding, carrying ``partial_success`` when some
records were rejected; a failure is a 4xx or 5xx with a ``google.rpc.Status`` body (``400`` for
a body that does not decode, ``401``/``403`` for the token, ``404`` for an unknown team,
``413`` for a body past the limit, ``415`` for another content type, ``503`` with
``Retry-After`` while the store cannot take the batch). A batch is acknowledged only once it is
durably spooled (:func:`andon.telemetry.service.ingest`).

``POST /v1/andon/{signal}`` takes an Arrow IPC stream of rows in andon's own schema (the native
batch API for andon's producers), with the same authentication and answers.

Authentication is an andon token (``Authorization: Bearer ...``, which the OpenTelemetry SDK
sends through ``OTEL_EXPORTER_OTLP_HEADERS``). The team is the ``X-Andon-Team`` header, or the
one team the principal may write telemetry for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from andon.auth import service as auth
from andon.core.config import Settings
from andon.core.context import Context
from andon.core.errors import AndonError, Invalid, Unauthenticated, Unavailable
from andon.store.db import Database
from andon.telemetry import otlp, service
from andon.telemetry.schema import SCHEMAS

log = logging.getLogger("andon.telemetry")
PATHS = {"/v1/traces": "spans", "/v1/metrics": "metrics", "/v1/logs": "logs"}
ARROW = "application/vnd.apache.arrow.stream"
CALLER_TTL_SECONDS = 1.0
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 413: 8, 415: 3, 422: 3, 429: 8, 503: 14}


@dataclass
class _Caller:
    ctx: Context
    expires: float


class Receiver:
    """The receiver's state: the store, and the callers it authenticated recently."""

    def __init__(self, db: Database, settings: Settings, max_body: int | None = None) -> None:
        self.db, self.settings = db, settings
        self.max_body = max_body or settings.telemetry_max_body_bytes
        self.callers: dict[str, _Caller] = {}
        self.app = Starlette(
            routes=[
                *(Route(path, self.otlp, methods=["POST"]) for path in PATHS),
                Route("/v1/andon/{signal}", self.native, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
            ]
        )

    async def healthz(self, request: Request) -> Response:
        """Liveness."""
        return Response(b'{"status":"ok"}', media_type="application/json")

    def _caller(self, request: Request) -> Context:
        value = request.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send an andon token as Authorization: Bearer <token>")
        now = time.monotonic()
        cached = self.callers.get(token)
        if cached is not None and cached.expires > now:
            return cached.ctx
        ctx = auth.authenticate(self.db, self.settings, token.strip())
        if len(self.callers) > 10_000:
            self.callers.clear()
        self.callers[token] = _Caller(ctx, now + CALLER_TTL_SECONDS)
        return ctx

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise otlp.TooLarge(f"the body is {declared} bytes; at most {self.max_body}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise otlp.TooLarge(f"the body is over {self.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def otlp(self, request: Request) -> Response:
        """One OTLP export request."""
        signal = PATHS[request.url.path]
        as_json = otlp.is_json(request.headers.get("content-type"))
        try:
            otlp.check_content_type(request.headers.get("content-type"))
            ctx = await asyncio.to_thread(self._caller, request)
            raw = await self._body(request)
            data = otlp.decode_body(
                raw, request.headers.get("content-type"),
                request.headers.get("content-encoding"), self.max_body * 8,
            )  # fmt: skip
            team = await asyncio.to_thread(_team_of, ctx, request.headers.get("x-andon-team"))
            decoded = await asyncio.to_thread(
                otlp.DECODERS[signal], data, as_json, team, time.time_ns()
            )
            await asyncio.to_thread(service.ingest, ctx, team, signal, decoded.table)
        except AndonError as exc:
            return _status(exc, as_json)
        except Exception:  # a bug must not lose a batch silently: the producer retries
            log.exception("the receiver could not take a %s batch", signal)
            return _status(Unavailable("the receiver could not take the batch; retry"), as_json)
        body = otlp.success_body(decoded.rejected, "; ".join(decoded.messages), as_json, signal)
        return Response(body, media_type="application/json" if as_json else otlp.PROTOBUF)

    async def native(self, request: Request) -> Response:
        """One batch of andon rows as an Arrow IPC stream."""
        signal = request.path_params["signal"]
        try:
            if signal not in SCHEMAS:
                raise Invalid(f"unknown signal (known: {', '.join(SCHEMAS)})", field="signal")
            kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
            if kind != ARROW:
                raise otlp.UnsupportedMediaType(f"send {ARROW}, not {kind or 'no content type'}")
            ctx = await asyncio.to_thread(self._caller, request)
            raw = await self._body(request)
            table = _arrow(raw, signal)
            team = await asyncio.to_thread(_team_of, ctx, request.headers.get("x-andon-team"))
            done = await asyncio.to_thread(service.ingest, ctx, team, signal, table)
        except AndonError as exc:
            return _status(exc, True)
        except Exception:
            log.exception("the receiver could not take a native %s batch", signal)
            return _status(Unavailable("the receiver could not take the batch; retry"), True)
        body = {"team": done.team, "signal": signal, "rows": done.rows, "masked": done.masked}
        return Response(json.dumps(body), media_type="application/json")


def _arrow(raw: bytes, signal: str) -> pa.Table:
    try:
        table = pa.ipc.open_stream(pa.py_buffer(raw)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(f"not an Arrow IPC stream: {exc}", field="body") from None
    schema = SCHEMAS[signal]
    missing = [f.name for f in schema if f.name not in table.column_names and f.name != "team"]
    if missing:
        raise Invalid(f"the batch lacks the columns {', '.join(missing)}", field="body")
    if "team" not in table.column_names:
        table = table.append_column("team", pa.array([""] * table.num_rows, pa.string()))
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise Invalid(
            f"the batch does not have andon's {signal} columns: {exc}", field="body"
        ) from None


def _team_of(ctx: Context, named: str | None) -> str:
    if named:
        return named.strip()
    teams = service.writable_teams(ctx)
    if len(teams) == 1:
        return teams[0]
    raise Invalid(
        "say which team this telemetry belongs to in the X-Andon-Team header"
        + (f" (this principal writes for {', '.join(teams)})" if teams else ""),
        field="team",
    )


def _status(exc: AndonError, as_json: bool) -> Response:
    """A failure as OTLP wants it: a ``google.rpc.Status`` in the request's encoding."""
    from google.rpc import status_pb2

    status = exc.http_status if exc.http_status != 422 else 400
    if status >= 500:
        status = 503
    message = status_pb2.Status(code=_RPC_CODES.get(status, 2), message=str(exc))
    wait = exc.details.get("retry_after", 1)
    headers = {"retry-after": str(wait)} if status in (429, 503) else {}
    if as_json:
        body = json.dumps({"code": message.code, "message": message.message}).encode()
        return Response(body, status_code=status, media_type="application/json", headers=headers)
    return Response(
        message.SerializeToString(), status_code=status, media_type=otlp.PROTOBUF, headers=headers
    )


def build(home: Path, db: Database, settings: Settings) -> Any:
    """The receiver's ASGI app for an andon home."""
    return Receiver(db, settings).app
