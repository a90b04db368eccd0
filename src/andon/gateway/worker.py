"""What every route of a gateway worker shares: its state, who is calling, and counting."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

from starlette.types import Scope

from andon.core.clock import Clock, SystemClock
from andon.core.config import Settings
from andon.core.context import Context, Database
from andon.core.errors import AndonError, Unauthenticated
from andon.gateway.guards import Guard, Violation
from andon.gateway.live import LiveState
from andon.gateway.metering import Meter
from andon.gateway.metrics import Metrics
from andon.gateway.problems import GatewayProblem
from andon.gateway.ratelimit import Buckets
from andon.gateway.requests import header
from andon.gateway.shedding import Gates
from andon.gateway.spans import Spool, annotate
from andon.gateway.upstream import Upstreams
from andon.gateway.variants import VariantBook
from andon.serve.spec import EndpointSpec

log = logging.getLogger("andon.gateway")
GATEWAY_PRINCIPAL = "gateway"
"""The service principal guard violations (and the cords they pull) are recorded as."""


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
        self.buckets = Buckets(int(os.environ.get("ANDON_GATEWAY_WORKERS", "1")))
        self.metrics = Metrics()
        self.meter = Meter(db, self.clock)
        self.variants = VariantBook(db, self.clock)
        self.worker = str(os.getpid())
        self._dumper: asyncio.Task[None] | None = None
        self.spool = Spool(settings.home / "telemetry" / "spool", settings.otlp_endpoint)
        self._guards: dict[str, tuple[EndpointSpec, Guard]] = {}
        self._guardian: tuple[float, Context] | None = None

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

    def _admit(self, spec: EndpointSpec, ctx: Context, team: str, labels: str) -> None:
        """The rate limits of ``spec`` (429 ``rate-limited`` when a bucket is empty)."""
        try:
            self.buckets.admit(spec, ctx.principal.name, team)
        except GatewayProblem:
            self.metrics.count("andon_gateway_rate_limited_total", labels)
            raise

    def _spent(self, labels: str, nanos: int) -> None:
        if nanos:
            self.metrics.count("andon_gateway_spend_nanodollars_total", labels, nanos)
            annotate(**{"andon.cost_nanos": nanos})

    def _guard(self, spec: EndpointSpec) -> Guard | None:
        """The endpoint's guard, built once per snapshot (None when it has no guards)."""
        if spec.guards is None:
            return None
        hit = self._guards.get(spec.name)
        if hit is None or hit[0] is not spec:
            hit = self._guards[spec.name] = (spec, Guard(spec.guards))
        return hit[1]

    async def _violated(
        self, spec: EndpointSpec, ctx: Context, violation: Violation, action: str
    ) -> None:
        """Record a refused answer (masked) as the gateway's principal, off the event loop;
        the refusal goes out whether or not the store took the record."""
        annotate(**{"andon.guard": f"{violation.kind}:{violation.detector}"})
        log.warning(
            "endpoint %s: output guard %s refused an answer to %s (%s)",
            spec.name,
            violation.kind,
            ctx.principal.name,
            violation.line(),
        )
        loop = asyncio.get_running_loop()
        try:
            recorded = await loop.run_in_executor(
                None, self._record, spec.name, ctx.principal.name, violation, action
            )
        except AndonError as exc:
            log.warning("guard violation of %s not recorded: %s", spec.name, exc)
            return
        except Exception:
            # The refusal must still go out: a failed record never turns it into a 500.
            log.exception("guard violation of %s not recorded", spec.name)
            return
        if recorded.tripped is not None:
            log.warning("endpoint %s stopped: %s", spec.name, recorded.tripped.reason)

    def _record(self, endpoint: str, principal: str, violation: Violation, action: str) -> Any:
        from andon.auth import service as auth
        from andon.serve import service as serve

        now = time.monotonic()
        if self._guardian is None or now - self._guardian[0] > 5.0:
            self._guardian = (
                now,
                auth.context_for(self.db, self.settings, GATEWAY_PRINCIPAL, clock=self.clock),
            )
        return serve.record_violation(
            self._guardian[1],
            endpoint,
            kind=violation.kind,
            detector=violation.detector,
            evidence=violation.evidence,
            principal=principal,
            action=action,
        )
