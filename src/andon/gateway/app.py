"""The gateway worker: a plain ASGI app (no framework on the hot path).

Routes: ``POST /v1/chat/completions`` and ``POST /v1/embeddings`` (the OpenAI protocol, the
endpoint named by the body's ``model``), ``GET /v1/models``, ``GET /metrics`` (Prometheus)
and ``GET /healthz``. Each request is authenticated (``Authorization: Bearer``), checked for
``endpoint.invoke`` on the endpoint, refused while a cord stops the endpoint (503, or the
endpoint's safe fallback), refused at once when the endpoint is full (503, ``Retry-After``),
then sent upstream. Every refusal is RFC 9457 problem+json; nothing raises a 500 to a caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from starlette.types import Message, Receive, Scope, Send

from andon.core.clock import Clock, SystemClock
from andon.core.config import Settings
from andon.core.context import Context, Database
from andon.core.errors import AndonError, Unauthenticated
from andon.gateway import fallback
from andon.gateway.live import LiveState
from andon.gateway.metering import RENEW_S, Meter, StreamTally, charged_team, usage_of
from andon.gateway.metrics import Metrics, gather, label, render
from andon.gateway.problems import GatewayProblem, from_error, send_json, send_problem
from andon.gateway.shedding import Gates
from andon.gateway.upstream import Outcome, Upstreams
from andon.serve import budgets
from andon.serve.budgets import Reservation
from andon.serve.spec import EndpointSpec

log = logging.getLogger("andon.gateway")
PROXIED = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class Gateway:
    """One worker's ASGI application."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Clock | None = None,
        metrics_dir: Path | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self.settings, self.db, self.clock = settings, db, clock or SystemClock()
        self.metrics_dir = metrics_dir or settings.home / "gateway" / "metrics"
        self.poll_s = poll_s
        self.live: LiveState | None = None
        self.upstreams = Upstreams()
        self.gates = Gates()
        self.metrics = Metrics()
        self.meter = Meter(db, self.clock)
        self.worker = str(os.getpid())
        self._dumper: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        try:
            if path in PROXIED:
                await self._proxy(scope, receive, send, PROXIED[path])
            elif path == "/v1/models":
                await self._models(scope, send)
            elif path == "/metrics":
                _only(scope, "GET")
                await self._metrics(send)
            elif path == "/healthz":
                _only(scope, "GET")
                seq = self.live.snapshot.seq if self.live else -1
                await send_json(send, 200, {"status": "ok", "worker": self.worker, "seq": seq})
            else:
                raise GatewayProblem(404, "not-found", "not found", f"no route {path}")
        except GatewayProblem as problem:
            problem.headers.setdefault("x-andon-worker", self.worker)
            await send_problem(send, problem, path)
        except AndonError as exc:
            token_sent = any(k == b"authorization" for k, _ in scope["headers"])
            refusal = from_error(exc, token_sent=token_sent)
            refusal.headers["x-andon-worker"] = self.worker
            await send_problem(send, refusal, path)

    # -- lifespan ---------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway worker failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Read the first snapshot, open the upstream pool, start polling and dumping."""
        loop = asyncio.get_running_loop()
        self.live = await loop.run_in_executor(
            None, lambda: LiveState(self.db, self.settings, self.clock, poll_s=self.poll_s)
        )
        self.live.start()
        await self.upstreams.open()
        self._dumper = loop.create_task(self._dump_metrics())

    async def shutdown(self) -> None:
        """Stop the background tasks and close the pool."""
        if self.live is not None:
            await self.live.stop()
        if self._dumper is not None:
            self._dumper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dumper
        await self.upstreams.close()
        with contextlib.suppress(OSError):
            (self.metrics_dir / f"{self.worker}.json").unlink()

    async def _dump_metrics(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            self._gauges()
            try:
                await loop.run_in_executor(None, self.metrics.dump, self.metrics_dir)
            except OSError:
                log.warning("gateway could not write its metrics", exc_info=True)

    # -- routes -----------------------------------------------------------------------------

    async def _caller(self, scope: Scope) -> Context:
        assert self.live is not None
        header = _header(scope, b"authorization")
        if header is None:
            raise Unauthenticated("a token is required: send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        return await self.live.caller(token.strip())

    async def _models(self, scope: Scope, send: Send) -> None:
        _only(scope, "GET")
        ctx = await self._caller(scope)
        assert self.live is not None
        snap = self.live.snapshot
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": spec.team}
            for name, spec in snap.endpoints.items()
            if spec.kind == "llm" and self._may_invoke(ctx, name, spec)
        ]
        await send_json(send, 200, {"object": "list", "data": data})

    async def _metrics(self, send: Send) -> None:
        self._gauges()
        loop = asyncio.get_running_loop()
        workers = await loop.run_in_executor(None, gather, self.metrics_dir, self.metrics)
        data = render(workers).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": data})

    def _gauges(self) -> None:
        for gate in self.gates.all():
            labels = label(endpoint=gate.name)
            self.metrics.set_gauge("andon_gateway_in_flight", labels, gate.in_flight)
            self.metrics.set_gauge("andon_gateway_queue_depth", labels, gate.waiting)

    def _may_invoke(self, ctx: Context, name: str, spec: EndpointSpec) -> bool:
        assert self.live is not None
        snap = self.live.snapshot
        return ctx.can(
            "endpoint.invoke", team_id=snap.team_ids.get(spec.team), asset_id=snap.asset_ids[name]
        )

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, kind: str) -> None:
        started = time.perf_counter()
        _only(scope, "POST")
        ctx = await self._caller(scope)
        assert self.live is not None
        if not _is_json(scope):
            raise GatewayProblem(
                415,
                "unsupported-media-type",
                "unsupported media type",
                "send the request body as application/json",
            )
        snap = self.live.snapshot
        cap = max((s.limits.max_body for s in snap.endpoints.values()), default=1 << 20)
        raw = await _read_body(scope, receive, cap)
        payload = _json_object(raw)
        name = payload.get("model")
        if not isinstance(name, str) or not name:
            raise GatewayProblem(
                422,
                "invalid",
                "invalid input",
                "model: is required: the endpoint's name",
                field="model",
            )
        spec = snap.endpoints.get(name)
        if spec is None or spec.kind != "llm":
            raise GatewayProblem(
                404,
                "not-found",
                "not found",
                f"no LLM endpoint '{name}' on this gateway",
                field="model",
            )
        if not self._may_invoke(ctx, name, spec):
            raise GatewayProblem(
                403,
                "forbidden",
                "forbidden",
                f"{ctx.principal.name} lacks permission 'endpoint.invoke' on endpoint '{name}'",
                action="endpoint.invoke",
            )
        if len(raw) > spec.limits.max_body:
            raise _too_large(spec.limits.max_body, f"endpoint '{name}'")
        labels = label(endpoint=name)
        stop = snap.stops.get(name)
        stream = payload.get("stream") is True
        if stop is not None:
            self.metrics.count("andon_gateway_stopped_total", labels)
            if spec.fallback is None or kind != "chat":
                raise GatewayProblem(
                    503,
                    "stopped",
                    "stopped",
                    stop.message(),
                    scope=stop.scope,
                    target=stop.target,
                    stopped_by=stop.by,
                    stopped_at=stop.at.isoformat(),
                )
            await fallback.send_chat(
                send, name, spec.fallback, stream=stream, stop=stop, worker=self.worker
            )
            self._done(labels, 200, started)
            return
        status = 500
        reservation: Reservation | None = None
        closed = False
        try:
            async with self.gates.of(name, spec.limits):
                team = charged_team(ctx, snap, spec)
                reservation = await self.meter.reserve(spec, ctx, team, payload)
                outcome = await self.upstreams.call(
                    spec,
                    "/chat/completions" if kind == "chat" else "/embeddings",
                    payload,
                    stream=stream,
                )
                if outcome.retries:
                    self.metrics.count("andon_gateway_retries_total", labels, outcome.retries)
                status = outcome.status
                extra = {
                    "x-andon-endpoint": name,
                    "x-andon-worker": self.worker,
                    "x-andon-attempts": str(outcome.attempts),
                }
                if outcome.response is not None:
                    tally = StreamTally(
                        spec, payload, reservation.amount_nanos if reservation else 0
                    )
                    closed = True  # the stream settles its own charge
                    await self._relay_stream(send, outcome, extra, tally, reservation)
                    return
                if outcome.status < 400:
                    closed = True
                    cost = budgets.cost_of(spec, usage_of(outcome.body))
                    self._spent(labels, await self.meter.settle(reservation, cost))
                await send_json_bytes(
                    send, outcome.status, outcome.body, {**outcome.headers, **extra}
                )
        except GatewayProblem as problem:
            status = problem.status
            if problem.slug == "overloaded":
                self.metrics.count("andon_gateway_shed_total", labels)
            raise
        except AndonError as exc:
            status = exc.http_status
            raise
        finally:
            if not closed:
                # Nothing was served (refused, failed, or a 4xx from upstream): nothing charged.
                await self.meter.release(reservation)
            self._done(labels, status, started)

    def _spent(self, labels: str, nanos: int) -> None:
        if nanos:
            self.metrics.count("andon_gateway_spend_nanodollars_total", labels, nanos)

    async def _relay_stream(
        self,
        send: Send,
        outcome: Outcome,
        extra: dict[str, str],
        tally: StreamTally,
        reservation: Reservation | None,
    ) -> None:
        """Pass server-sent events through as they arrive (never buffered), charging them as
        they flow: a stream the budget cannot cover any more is ended with an error event."""
        response = outcome.response
        assert response is not None
        headers = {
            "content-type": "text/event-stream",
            **outcome.headers,
            **extra,
            "cache-control": "no-cache",
        }
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        try:
            async for chunk in response.content.iter_any():
                if reservation is None or not reservation.id:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                # Metered: forward event by event, each only once the budget holds it.
                for event in tally.events(chunk):
                    if not await self._covered(tally, reservation):
                        await send(
                            _error_event(
                                "the budget cannot cover more of this stream", "budget_exceeded"
                            )
                        )
                        return
                    await send({"type": "http.response.body", "body": event, "more_body": True})
            if reservation is not None and reservation.id:
                rest = tally.flush()
                if rest:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            # The status line is sent: the only honest thing left is to end the stream with an
            # error event the client can read, then close it.
            log.warning(
                "upstream stream of %s broke: %s", extra["x-andon-endpoint"], type(exc).__name__
            )
            await send(_error_event("the upstream stream broke off", "bad_upstream"))
        finally:
            response.release()
            if reservation is not None:
                self._spent(labels_of(extra), await self.meter.settle(reservation, tally.used()))
            # The charge is settled before the stream ends: a read after it sees the spend.
            await send({"type": "http.response.body", "body": b""})

    async def _covered(self, tally: StreamTally, reservation: Reservation) -> bool:
        """Whether what the stream used so far is held, holding more (doubling) if needed."""
        used = tally.used()
        if used > tally.held:
            step = max(used - tally.held, tally.held, 1)
            if not await self.meter.extend(reservation, step):
                return False
            tally.held += step
            tally.renewed = time.monotonic()
        elif time.monotonic() - tally.renewed > RENEW_S:
            await self.meter.extend(reservation, 0)
            tally.renewed = time.monotonic()
        return True

    def _done(self, labels: str, status: int, started: float) -> None:
        self.metrics.count("andon_gateway_requests_total", f'{labels},code="{status}"')
        self.metrics.observe(labels, time.perf_counter() - started)


async def send_json_bytes(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    """A complete response whose body is already encoded."""
    raw = [(k.encode(), v.encode()) for k, v in headers.items() if k != "content-length"]
    if not any(k == b"content-type" for k, _ in raw):
        raw.append((b"content-type", b"application/json"))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def labels_of(extra: dict[str, str]) -> str:
    """The metric labels of the endpoint a response came from."""
    return label(endpoint=extra["x-andon-endpoint"])


def _error_event(message: str, kind: str) -> Message:
    event = {"error": {"message": message, "type": kind}}
    data = f"data: {json.dumps(event)}\n\n".encode()
    return {"type": "http.response.body", "body": data, "more_body": True}


def _only(scope: Scope, method: str) -> None:
    if scope["method"] != method:
        raise GatewayProblem(
            405,
            "method-not-allowed",
            "method not allowed",
            f"{scope['path']} takes {method}, not {scope['method']}",
            headers={"allow": method},
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_json(scope: Scope) -> bool:
    content_type = _header(scope, b"content-type") or ""
    return content_type.split(";")[0].strip().lower() == "application/json"


def _too_large(cap: int, where: str) -> GatewayProblem:
    return GatewayProblem(
        413,
        "body-too-large",
        "body too large",
        f"the request body is over the {cap}-byte limit of {where}",
        limit=cap,
    )


async def _read_body(scope: Scope, receive: Receive, cap: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _too_large(cap, "this gateway")
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayProblem(400, "bad-request", "bad request", "the client went away")
        body = message.get("body", b"")
        size += len(body)
        if size > cap:
            raise _too_large(cap, "this gateway")
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise GatewayProblem(
            400,
            "malformed-json",
            "malformed JSON",
            f"body: is not valid JSON: {exc}",
            field="body",
        ) from None
    if not isinstance(value, dict):
        raise GatewayProblem(
            422, "invalid", "invalid input", "body: must be a JSON object", field="body"
        )
    return value


def create_app() -> Gateway:
    """The worker app from the environment's settings (uvicorn's factory)."""
    from andon.core.config import load_settings
    from andon.store import migrate
    from andon.store.db import Database

    settings = load_settings()
    db = Database.from_settings(settings)
    migrate.require_current(db)
    metrics_dir = os.environ.get("ANDON_GATEWAY_METRICS_DIR")
    return Gateway(settings, db, metrics_dir=Path(metrics_dir) if metrics_dir else None)
