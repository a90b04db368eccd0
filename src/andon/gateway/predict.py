"""``POST /v1/endpoints/{name}/predict``: the registry version a model endpoint's alias points
to, loaded in process (:mod:`andon.serve.runtimes`), under the endpoint's cord, bounds and
budgets. A promotion or rollback moves the alias; the next snapshot serves the new version.

An endpoint with a ``canary`` serves some callers from the canary's alias (sticky per caller,
``x-andon-variant`` says which); one with a ``shadow`` runs every request once more on the
shadow's alias after the answer went out, off the request path (:mod:`andon.gateway.variants`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from andon.core.errors import AndonError
from andon.gateway import guards
from andon.gateway.metering import charged_team
from andon.gateway.metrics import label
from andon.gateway.problems import GatewayProblem, send_json, stopped
from andon.gateway.requests import header, is_json, json_object, only, read_body, too_large
from andon.gateway.spans import annotate
from andon.gateway.variants import MAX_CALLER_KEY, agreement, pick
from andon.gateway.worker import Worker
from andon.serve import budgets
from andon.serve.records import Binding, Snapshot

if TYPE_CHECKING:
    from andon.serve.runtimes import ModelRuntime, RuntimeCache

PREFIX, SUFFIX = "/v1/endpoints/", "/predict"
INLINE_ROWS = 64
"""Up to this many rows a prediction runs on the event loop (microseconds); more go to a
thread so one large batch does not hold every other request of the worker."""
MAX_SHADOWS = 32
"""Shadow runs pending at once per worker; past it a request is not shadowed (counted in
``andon_gateway_shadow_skipped_total``), so a slow shadow cannot pile up memory."""


def endpoint_of(path: str) -> str | None:
    """The endpoint name of a predict path, or None."""
    if path.startswith(PREFIX) and path.endswith(SUFFIX):
        name = path[len(PREFIX) : -len(SUFFIX)]
        return name if name and "/" not in name else None
    return None


class ModelServing(Worker):
    """The predict route of a gateway worker."""

    _runtimes: RuntimeCache | None = None
    _shadows: set[asyncio.Task[None]] | None = None

    @property
    def runtimes(self) -> RuntimeCache:
        """Loaded model versions by digest (created on first use: ONNX Runtime is heavy)."""
        if self._runtimes is None:
            from andon.serve.runtimes import RuntimeCache

            self._runtimes = RuntimeCache(self.settings)
        return self._runtimes

    def warm(self, snapshot: Snapshot) -> None:
        """Load what a new snapshot serves before a request needs it (off the loop)."""
        loop = asyncio.get_running_loop()
        loaded = set(self.runtimes.digests())
        for variants in snapshot.variants.values():
            for binding in variants.values():
                if binding.artifact_digest not in loaded:
                    loaded.add(binding.artifact_digest)
                    loop.run_in_executor(None, self._load_quietly, binding)

    def _load_quietly(self, binding: Binding) -> None:
        with contextlib.suppress(AndonError):  # the request that needs it reports the problem
            self.runtimes.get(binding)

    async def _runtime(self, binding: Binding) -> ModelRuntime:
        if binding.artifact_digest in self.runtimes.digests():
            return self.runtimes.get(binding)
        return await asyncio.get_running_loop().run_in_executor(None, self.runtimes.get, binding)

    async def _predict(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        started = time.perf_counter()
        only(scope, "POST")
        ctx = await self._caller(scope)
        assert self.live is not None
        snap = self.live.snapshot
        spec = snap.endpoints.get(name)
        if spec is None or spec.kind != "model":
            raise GatewayProblem(
                404, "not-found", "not found", f"no model endpoint '{name}' on this gateway"
            )
        if not self._may_invoke(ctx, name, spec):
            raise GatewayProblem(
                403,
                "forbidden",
                "forbidden",
                f"{ctx.principal.name} lacks permission 'endpoint.invoke' on endpoint '{name}'",
                action="endpoint.invoke",
            )
        if not is_json(scope):
            raise GatewayProblem(
                415,
                "unsupported-media-type",
                "unsupported media type",
                "send the request body as application/json",
            )
        raw = await read_body(scope, receive, spec.limits.max_body)
        if len(raw) > spec.limits.max_body:
            raise too_large(spec.limits.max_body, f"endpoint '{name}'")
        body = json_object(raw)
        labels = label(endpoint=name)
        annotate(**{"andon.endpoint": name, "andon.team": spec.team, "andon.kind": "model"})
        status = 500
        extra = {"x-andon-endpoint": name, "x-andon-worker": self.worker}
        try:
            stop = snap.stops.get(name)
            if stop is not None:
                self.metrics.count("andon_gateway_stopped_total", labels)
                if spec.fallback is None:
                    raise stopped(stop)
                status = 200
                fallback_headers = {**extra, "x-andon-fallback": f"stopped:{stop.scope}"}
                await send_json(send, 200, spec.fallback, headers=fallback_headers)
                return
            variants = snap.variants.get(name, {})
            if "primary" not in variants:
                raise GatewayProblem(
                    503,
                    "not-deployed",
                    "not deployed",
                    f"endpoint '{name}' serves {spec.model}@{spec.alias}, "
                    "and that alias points to no version",
                )
            key = header(scope, b"x-andon-caller-key")
            key = key.strip()[:MAX_CALLER_KEY] if key and key.strip() else ctx.principal.name
            binding = pick(name, spec, variants, key)
            price = budgets.cost_of(spec, None)
            team = charged_team(ctx, snap, spec)
            self._admit(spec, ctx, team, labels)
            async with self.gates.of(name, spec.limits):
                reservation = await self.meter.reserve(spec, ctx, team, body)
                began = time.perf_counter()
                try:
                    answer = await self._run_model(binding, body)
                except BaseException:
                    self.variants.count(name, binding, _ms(began), error=True)
                    await self.meter.release(reservation)
                    raise
                self.variants.count(name, binding, _ms(began), error=False, cost_nanos=price)
                self._spent(labels, await self.meter.settle(reservation, price))
            extra["x-andon-model-version"] = f"{binding.model}@{binding.version}"
            extra["x-andon-variant"] = binding.variant
            annotate(
                **{
                    "andon.model_version": extra["x-andon-model-version"],
                    "andon.variant": binding.variant,
                }
            )
            guard = self._guard(spec)
            violation = None
            if guard is not None:
                violation = guard.check_body(json.dumps(answer, separators=(",", ":"), default=str))
                annotate(**{"andon.guard": "pass"})
            if guard is not None and violation is not None:
                self.metrics.count("andon_gateway_guard_violations_total", labels)
                safe = spec.fallback if guard.fallback else None
                await self._violated(spec, ctx, violation, "refuse" if safe is None else "fallback")
                if safe is None:
                    raise guards.refusal(name, violation)
                answer = safe
                extra["x-andon-fallback"] = f"guard:{violation.kind}"
            status = 200
            await send_json(send, 200, answer, headers=extra)
            shadow = variants.get("shadow")
            if shadow is not None:
                self._shadow_later(name, shadow, body, answer, price)
        except GatewayProblem as problem:
            status = problem.status
            if problem.slug == "overloaded":
                self.metrics.count("andon_gateway_shed_total", labels)
            raise
        except AndonError as exc:
            status = exc.http_status
            raise
        finally:
            self._done(labels, status, started)

    async def _run_model(self, binding: Binding, body: dict[str, object]) -> object:
        runtime = await self._runtime(binding)
        rows = body.get("inputs")
        if isinstance(rows, list) and len(rows) > INLINE_ROWS:
            return await asyncio.get_running_loop().run_in_executor(None, runtime.predict, body)
        return runtime.predict(body)

    def _shadow_later(
        self, name: str, binding: Binding, body: dict[str, object], served: object, price: int
    ) -> None:
        if self._shadows is None:
            self._shadows = set()
        if len(self._shadows) >= MAX_SHADOWS:
            self.metrics.count("andon_gateway_shadow_skipped_total", label(endpoint=name))
            return
        task = asyncio.get_running_loop().create_task(
            self._shadow(name, binding, body, served, price)
        )
        self._shadows.add(task)
        task.add_done_callback(self._shadows.discard)

    async def _shadow(
        self, name: str, binding: Binding, body: dict[str, object], served: object, price: int
    ) -> None:
        """Run the shadow on a request already answered; record how it did, never raise."""
        began = time.perf_counter()
        try:
            runtime = await self._runtime(binding)
            answer = await asyncio.get_running_loop().run_in_executor(None, runtime.predict, body)
        except Exception:
            self.variants.count(name, binding, _ms(began), error=True)
            return
        compared, agreed = agreement(served, answer)
        self.variants.count(
            name,
            binding,
            _ms(began),
            error=False,
            cost_nanos=price,
            compared=compared,
            agreed=agreed,
        )

    async def shadows_done(self) -> None:
        """Wait for the shadow runs in flight (at shutdown)."""
        if self._shadows:
            await asyncio.gather(*list(self._shadows), return_exceptions=True)


def _ms(began: float) -> float:
    return (time.perf_counter() - began) * 1000
