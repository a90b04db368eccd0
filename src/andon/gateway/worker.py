"""What every route of a gateway worker shares: its state, who is calling, and counting."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from starlette.types import Scope

from andon.core.clock import Clock, SystemClock
from andon.core.config import Settings
from andon.core.context import Context, Database
from andon.core.errors import Unauthenticated
from andon.gateway.live import LiveState
from andon.gateway.metering import Meter
from andon.gateway.metrics import Metrics
from andon.gateway.requests import header
from andon.gateway.shedding import Gates
from andon.gateway.spans import Spool, annotate
from andon.gateway.upstream import Upstreams
from andon.gateway.variants import VariantBook
from andon.serve.spec import EndpointSpec


class Worker:
    """One worker's state: the live snapshot, the upstream pool, gates, meter and metrics."""

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
        self.variants = VariantBook(db, self.clock)
        self.worker = str(os.getpid())
        self._dumper: asyncio.Task[None] | None = None
        self.spool = Spool(settings.home / "telemetry" / "spool", settings.otlp_endpoint)

    async def _caller(self, scope: Scope) -> Context:
        assert self.live is not None
        value = header(scope, b"authorization")
        if value is None:
            raise Unauthenticated("a token is required: send 'Authorization: Bearer <token>'")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        ctx = await self.live.caller(token.strip())
        annotate(**{"andon.principal": ctx.principal.name})
        return ctx

    def _may_invoke(self, ctx: Context, name: str, spec: EndpointSpec) -> bool:
        assert self.live is not None
        snap = self.live.snapshot
        return ctx.can(
            "endpoint.invoke", team_id=snap.team_ids.get(spec.team), asset_id=snap.asset_ids[name]
        )

    def _done(self, labels: str, status: int, started: float) -> None:
        self.metrics.count("andon_gateway_requests_total", f'{labels},code="{status}"')
        self.metrics.observe(labels, time.perf_counter() - started)

    def _spent(self, labels: str, nanos: int) -> None:
        if nanos:
            self.metrics.count("andon_gateway_spend_nanodollars_total", labels, nanos)
            annotate(**{"andon.cost_nanos": nanos})
