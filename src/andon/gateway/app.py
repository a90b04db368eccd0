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
import logging
import os
from pathlib import Path

from starlette.types import Message, Receive, Scope, Send

from andon.core.errors import AndonError
from andon.gateway import spans
from andon.gateway.live import LiveState
from andon.gateway.metrics import budgets_left, gather, label, render
from andon.gateway.predict import ModelServing, endpoint_of
from andon.gateway.problems import GatewayProblem, from_error, send_json, send_problem
from andon.gateway.proxy import LlmProxy
from andon.gateway.requests import header, only
from andon.serve import queries

log = logging.getLogger("andon.gateway")
PROXIED = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}


class Gateway(LlmProxy, ModelServing):
    """One worker's ASGI application."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path in ("/metrics", "/healthz"):
            await self._route(scope, receive, send, path)
            return
        span = spans.begin(scope["method"], path, header(scope, b"traceparent"))
        status = [500]

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._route(scope, receive, observed, path)
        finally:
            self.spool.finish(span, status[0])

    async def _route(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        try:
            if path in PROXIED:
                await self._proxy(scope, receive, send, PROXIED[path])
            elif (name := endpoint_of(path)) is not None:
                await self._predict(scope, receive, send, name)
            elif path == "/v1/models":
                await self._models(scope, send)
            elif path == "/metrics":
                only(scope, "GET")
                await self._metrics(send)
            elif path == "/healthz":
                only(scope, "GET")
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
        self.live.listeners.append(self.warm)
        self.warm(self.live.snapshot)
        self.live.start()
        await self.upstreams.open()
        self.variants.start()
        self._dumper = loop.create_task(self._dump_metrics())

    async def shutdown(self) -> None:
        """Stop the background tasks and close the pool."""
        if self.live is not None:
            await self.live.stop()
        if self._dumper is not None:
            self._dumper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dumper
        await self.shadows_done()
        await self.variants.stop()
        await self._flush_spans()
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
            await self._flush_spans()

    async def _budget_lines(self) -> str:
        """What is left of each budget, read from the ledger off the loop at each scrape (it
        is the store's figure, not a worker's: no worker needs to keep or dump it)."""
        loop = asyncio.get_running_loop()
        try:
            windows = await loop.run_in_executor(
                None, queries.budget_windows, self.db, self.clock.now()
            )
        except Exception:
            log.warning("gateway could not read the budgets", exc_info=True)
            return ""
        return budgets_left(windows)

    async def _flush_spans(self) -> None:
        batch = self.spool.take()
        if self.spool.dropped:
            self.metrics.count("andon_gateway_spans_dropped_total", "", self.spool.dropped)
            self.spool.dropped = 0
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.spool.write, batch)
        except OSError:
            log.warning("gateway could not spool %d spans", len(batch), exc_info=True)

    # -- routes -----------------------------------------------------------------------------

    async def _models(self, scope: Scope, send: Send) -> None:
        only(scope, "GET")
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
        data = (render(workers) + await self._budget_lines()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": data})

    def _gauges(self) -> None:
        if self.live is not None:
            for name, spec in self.live.snapshot.endpoints.items():
                if spec.slo_p95_ms is not None:
                    self.metrics.set_gauge(
                        "andon_gateway_slo_p95_seconds",
                        label(endpoint=name),
                        spec.slo_p95_ms / 1000,
                    )
        for gate in self.gates.all():
            labels = label(endpoint=gate.name)
            self.metrics.set_gauge("andon_gateway_in_flight", labels, gate.in_flight)
            self.metrics.set_gauge("andon_gateway_queue_depth", labels, gate.waiting)


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
